/** `npm run docs`: rewrites REFERENCE.md from the zod schema (src/lib/reference.test.ts checks it). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configReference, REFERENCE_FILE } from './lib/reference.js';

writeFileSync(REFERENCE_FILE, configReference());
process.stdout.write(`wrote ${fileURLToPath(REFERENCE_FILE)}\n`);
