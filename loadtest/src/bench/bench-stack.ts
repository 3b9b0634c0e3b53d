import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BenchError } from './errors.js';

/** The checkout this file lives in (loadtest/src/bench → ../../../). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The running local stack, as deploy/local/up described it in .run/stack.json. */
export type Stack = Record<string, string>;

/** Reads stack.json; the benchmarks side by side need the full stack (gateways behind haproxy). */
export function loadBenchStack(file: string): Stack {
  if (!existsSync(file)) throw new BenchError('NO_STACK', `${file} is missing: start the local stack with deploy/local/up`);
  const stack = JSON.parse(readFileSync(file, 'utf8')) as Stack;
  if (stack.STACK_MODE !== 'full') throw new BenchError('NO_STACK', 'the stack runs in infra-only mode: run deploy/local/up (without --infra-only) to start the gateways and haproxy');
  return stack;
}

/**
 * Runs a client to its end and collects its output: `code` is its exit code (1 when it was killed
 * or its output overflowed); a missing program is a NO_TOOL BenchError.
 */
export function exec(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'ENOENT') reject(new BenchError('NO_TOOL', `${cmd} is not installed: run deploy/local/install (Debian's postgresql-client)`));
      else resolve({ code: err ? (typeof code === 'number' && code !== 0 ? code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The last message a client wrote on stderr, in one line (what a one-line report shows of a
 * failure): libpq indents a message's hint lines, so the last unindented line is the message.
 */
export function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines.filter((l) => !/^\s/.test(l)).at(-1) ?? lines.at(-1) ?? '').trim();
}
