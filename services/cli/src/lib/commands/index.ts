import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

/**
 * Every subcommand, in the order `chaperone --help` lists them, loaded on demand: a command
 * imports only its own dependencies, so `chaperone replay` does not pay for loading the gateway,
 * the Temporal worker and the policy engine (about 0.7 s of a 1.1 s start).
 */
export const commands: { name: string; load: () => Promise<CommandModule> }[] = [
  { name: 'gateway', load: () => import('./gateway.js') },
  { name: 'materializer', load: () => import('./materializer.js') },
  { name: 'api', load: () => import('./api.js') },
  { name: 'approvals-worker', load: () => import('./approvals-worker.js') },
  { name: 'migrate', load: () => import('./migrate.js') },
  { name: 'approvals', load: () => import('./approvals.js') },
  { name: 'mcp', load: () => import('./mcp.js') },
  { name: 'login', load: () => import('./login.js') },
  { name: 'logout', load: () => import('./login.js') },
  { name: 'whoami', load: () => import('./login.js') },
  { name: 'token', load: () => import('./token.js') },
  { name: 'sessions', load: () => import('./sessions.js') },
  { name: 'dashboard', load: () => import('./dashboard.js') },
  { name: 'replay', load: () => import('./replay.js') },
  { name: 'sql', load: () => import('./sql.js') },
  { name: 'verify', load: () => import('./verify.js') },
  { name: 'policy', load: () => import('./policy.js') },
];

/**
 * The commands to register for these arguments: only the one named first (`chaperone replay …`),
 * else all of them (`chaperone --help`, `chaperone help replay`, an unknown name's suggestions).
 */
export async function commandsFor(argv: readonly string[]): Promise<CommandModule[]> {
  const named = commands.find((c) => c.name === argv[0]);
  const modules = await Promise.all((named ? [named] : commands).map((c) => c.load()));
  // One module may register several commands (login, logout, whoami): register it once.
  return [...new Set(modules)];
}
