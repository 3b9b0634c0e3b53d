import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FleetError } from './errors.js';

/** The checkout this file lives in (loadtest/src/fleet → ../../../), for deploy/local's scripts. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The running local stack, as deploy/local/up described it in .run/stack.json. */
export type Stack = Record<string, string>;

/** Reads deploy/local/.run/stack.json; the fleet needs the full stack (gateways behind haproxy). */
export function loadStack(file = `${repoRoot}deploy/local/.run/stack.json`): Stack {
  if (!existsSync(file)) throw new FleetError('NO_STACK', `${file} is missing: start the stack first with deploy/local/up`);
  const stack = JSON.parse(readFileSync(file, 'utf8')) as Stack;
  if (stack.STACK_MODE !== 'full') throw new FleetError('NO_STACK', 'the stack runs in infra-only mode: run deploy/local/up (without --infra-only) to start the gateways and haproxy');
  return stack;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program and collects its output (never throws for a non-zero exit). */
export function run(cmd: string, args: string[], opts: ExecFileOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 180_000, ...opts }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as NodeJS.ErrnoException).code as unknown as number) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `deploy/local/<script> <args>`; throws with the script's own message when it fails. */
export async function deploy(script: 'up' | 'down' | 'restart' | 'status', args: string[], timeoutMs = 240_000): Promise<RunResult> {
  const r = await run(`${repoRoot}deploy/local/${script}`, args, { cwd: repoRoot, timeout: timeoutMs });
  if (r.code !== 0 && script !== 'status') throw new FleetError('DEPLOY_FAILED', `deploy/local/${script} ${args.join(' ')} failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  return r;
}

export interface ComponentStatus {
  name: string;
  pid: number | null;
  alive: boolean;
  healthy: boolean;
  port: number | null;
}

/** `deploy/local/status --json`. */
export async function status(): Promise<ComponentStatus[]> {
  const r = await deploy('status', ['--json'], 60_000);
  try {
    return JSON.parse(r.stdout) as ComponentStatus[];
  } catch {
    throw new FleetError('DEPLOY_FAILED', `deploy/local/status --json printed no JSON: ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 200)}`);
  }
}

/** The server pid deploy/local recorded for a component (what a fault signals). */
export function componentPid(stack: Stack, name: string): number {
  const file = `${stack.CHAPERONE_RUN_DIR}/pids/${name}.pid`;
  if (!existsSync(file)) throw new FleetError('NO_COMPONENT', `${name} is not running (no ${file}); start it with deploy/local/up --only ${name}`);
  return Number(readFileSync(file, 'utf8').trim());
}

/** Waits until every component deploy/local started is alive and healthy. */
export async function waitHealthy(timeoutMs = 120_000, names?: string[]): Promise<ComponentStatus[]> {
  const deadline = Date.now() + timeoutMs;
  let last: ComponentStatus[] = [];
  while (Date.now() < deadline) {
    last = await status();
    const relevant = names ? last.filter((c) => names.includes(c.name)) : last;
    if (relevant.length > 0 && relevant.every((c) => c.alive && c.healthy)) return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const bad = last.filter((c) => (!names || names.includes(c.name)) && !(c.alive && c.healthy)).map((c) => `${c.name} (alive=${c.alive}, healthy=${c.healthy})`);
  throw new FleetError('UNHEALTHY', `the stack did not become healthy within ${Math.round(timeoutMs / 1000)} s: ${bad.join(', ') || 'no components'}; see deploy/local/status and .run/logs`);
}

/** Gateway node names (gateway-1 …) from the stack. */
export function gatewayNames(stack: Stack): string[] {
  return Array.from({ length: Number(stack.GATEWAY_NODES ?? 0) }, (_, i) => `gateway-${i + 1}`);
}

/** Whether the stack runs the HTTP gateway and its upstreams (git, the JSON API). */
export function hasHttp(stack: Stack): boolean {
  return Boolean(stack.AGENT_HTTP_BASE && stack.GIT_HTTP_ROOT && stack.JSON_API_ACCESS_LOG && stack.GIT_HTTP_ACCESS_LOG);
}
