/** `npm run docs`: rewrites REFERENCE.md from every command's --help (src/lib/reference.test.ts checks it). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliReference, REFERENCE_FILE } from './lib/reference.js';

writeFileSync(REFERENCE_FILE, await cliReference());
process.stdout.write(`wrote ${fileURLToPath(REFERENCE_FILE)}\n`);
