import type { Command } from 'commander';

/** Registers `chaperone token` (being written; see the owning issue). */
export function register(_program: Command): void {}
