import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { repoRoot, run, type RunResult, type Stack } from '@chaperone/loadtest';
import { errorMessage } from '@chaperone/observability';

// The stack reader and the process runner are the loadtest package's (the fleet and the fault
// scenarios use the same ones).
export { loadStack, repoRoot, run, type RunResult, type Stack } from '@chaperone/loadtest';

/** `chaperone <args>` from the build, with the stack's configuration. */
export function chaperone(stack: Stack, args: string[]): Promise<RunResult> {
  return run('node', [stack.CHAPERONE_CLI!, ...args], { cwd: repoRoot, env: { ...process.env, CHAPERONE_CONFIG: stack.CHAPERONE_CONFIG } });
}

/** psql as an agent through the load-balanced endpoint; the token travels as PGPASSWORD. */
export function agentPsql(stack: Stack, opts: { user: string; token: string; sql: string; dbname?: string; sslmode?: string }): Promise<RunResult> {
  const conninfo = `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=${opts.dbname ?? 'demo'} user=${opts.user} sslmode=${opts.sslmode ?? 'verify-full'} sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`;
  return run('psql', [conninfo, '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-c', opts.sql], { env: { ...process.env, PGPASSWORD: opts.token, PGAPPNAME: 'e2e' } });
}

/** Polls until `probe` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${errorMessage(last)}` : ''}`);
}

/** Where the upstream statement log ends now; read what follows with {@link statementLogSince}. */
export function statementLogOffset(stack: Stack): number {
  return statSync(stack.PG_STATEMENT_LOG!).size;
}

/**
 * The upstream statement log from `offset` on. Tests read only what they caused: the whole
 * log of a long-lived stack can exceed what one JavaScript string may hold.
 */
export function statementLogSince(stack: Stack, offset: number): string {
  const fd = openSync(stack.PG_STATEMENT_LOG!, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
