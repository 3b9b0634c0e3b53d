import { execFile, type ExecFileOptions } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The running local stack, as deploy/local/up described it in .run/stack.json. */
export type Stack = Record<string, string>;

export function loadStack(): Stack {
  const file = `${repoRoot}deploy/local/.run/stack.json`;
  if (!existsSync(file)) throw new Error(`${file} is missing: start the stack first with deploy/local/up (or run npm test, which does)`);
  const stack = JSON.parse(readFileSync(file, 'utf8')) as Stack;
  if (stack.STACK_MODE !== 'full') throw new Error('the stack runs in infra-only mode: run deploy/local/up (without --infra-only)');
  return stack;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real client program and collects its output (never throws for a non-zero exit). */
export function run(cmd: string, args: string[], opts: ExecFileOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000, ...opts }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as NodeJS.ErrnoException).code as unknown as number) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

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
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
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
