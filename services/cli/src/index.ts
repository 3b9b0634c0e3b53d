/**
 * @module @chaperone/cli
 * The `chaperone` command; its entry is src/main.ts. Exposes the command list for tests.
 */
export { commands } from './lib/commands/index.js';
