import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, type Config } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { DEFAULT_MIX, pick, type Mix, type OpKind } from './args.js';
import { errorKind } from './classify.js';
import { FleetError } from './errors.js';
import { GitAgent, createFleetRepo } from './git-driver.js';
import { HttpAgent } from './http-driver.js';
import { FLEET_TABLE_SQL, PgAgent } from './pg-driver.js';
import { Progress } from './progress.js';
import { hasHttp, loadStack, type Stack } from './stack.js';
import { FleetStats, type FleetReport } from './stats.js';
import { logOffset } from '../loss/run.js';

export interface FleetOptions {
  /** @default loadStack() */
  stack?: Stack;
  /** @default loadConfig(stack.CHAPERONE_CONFIG) */
  config?: Config;
  agents: number;
  durationMs: number;
  /** Operations per second for the whole fleet. */
  rate: number;
  /** @default pg=80,blocked=5,git=10,http=5 */
  mix?: Mix;
  /** Statements per PostgreSQL session before an agent ends it and opens another. @default [10, 30] */
  sessionOps?: [number, number];
  /** Live progress on stderr. @default true */
  progress?: boolean;
  /** Extra text on the progress line (a fault scenario's phase). */
  note?: () => string;
  /** Where setup notes go (stderr by default). */
  say?: (message: string) => void;
}

/** What a finished run leaves for the loss checker and the report. */
export interface FleetRun {
  runId: string;
  /** Before any agent connected: the loss checker's `sinceMs`. */
  startedAtMs: number;
  endedAtMs: number;
  subjects: string[];
  applicationName: string;
  /** The mix actually run (git and http drop out when the stack has no HTTP gateway). */
  mix: Mix;
  git: { repo: string; repoDir: string } | undefined;
  /** Byte offsets of the upstream logs when the run began. */
  offsets: { statementLog: number; jsonApiLog: number; gitLog: number };
  report: FleetReport;
}

export interface FleetHandle {
  runId: string;
  startedAtMs: number;
  stats: FleetStats;
  /** Resolves when every agent has finished and closed its sessions. */
  done: Promise<FleetRun>;
  /** Ends the run early (agents finish their current operation and close cleanly). */
  stop(): void;
  /** Prints a line above the progress bar. */
  say(message: string): void;
}

const PROTOCOL: Record<OpKind, string> = { pg: 'postgres', blocked: 'postgres', git: 'git', http: 'http' };

interface AgentDrivers {
  pg: PgAgent;
  http: HttpAgent | undefined;
  git: GitAgent | undefined;
}

async function runOp(kind: OpKind, d: AgentDrivers, stats: FleetStats, rand: () => number): Promise<void> {
  const t0 = performance.now();
  try {
    let op: string;
    if (kind === 'pg') {
      if (rand() < 0.6) {
        await d.pg.read();
        op = 'postgres.read';
      } else {
        await d.pg.write();
        op = 'postgres.write';
      }
    } else if (kind === 'blocked') {
      await d.pg.blocked();
      op = 'postgres.blocked';
    } else if (kind === 'git') op = await d.git!.op();
    else op = await d.http!.call();
    stats.success(op, performance.now() - t0);
  } catch (err) {
    stats.failure(errorKind(PROTOCOL[kind], err));
    // After a failure (a node went away, recording unavailable) back off briefly instead of spinning.
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts a fleet; the returned handle resolves `done` when the duration has passed. */
export async function startFleet(opts: FleetOptions): Promise<FleetHandle> {
  const stack = opts.stack ?? loadStack();
  const config = opts.config ?? loadConfig(stack.CHAPERONE_CONFIG);
  if (!Number.isInteger(opts.agents) || opts.agents < 1) throw new FleetError('BAD_ARGS', `--agents must be a positive integer, got ${opts.agents}`);
  if (!(opts.rate > 0)) throw new FleetError('BAD_ARGS', `--rate must be positive, got ${opts.rate}`);
  const mix = { ...(opts.mix ?? DEFAULT_MIX) };
  let progress: Progress | undefined;
  const say = (m: string) => (progress ? progress.log(m) : (opts.say ?? ((x: string) => process.stderr.write(`${x}\n`)))(m));
  if ((mix.git > 0 || mix.http > 0) && !hasHttp(stack)) {
    say('fleet: the stack has no HTTP gateway (no AGENT_HTTP_BASE in stack.json): running PostgreSQL only');
    mix.git = 0;
    mix.http = 0;
  }
  for (const [name, prefix] of [['api', '/api/'], ['git', '/git/']] as const) {
    const c = config.connections.find((x) => x.name === name);
    if ((name === 'api' ? mix.http : mix.git) > 0 && c?.http?.pathPrefix !== prefix)
      throw new FleetError('SETUP_FAILED', `the fleet expects connection "${name}" routed at ${prefix} (deploy/local's chaperone.yaml); this configuration has ${c ? (c.http?.pathPrefix ?? 'no prefix') : 'no such connection'}`);
  }
  const runId = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const applicationName = `fleet-${runId}`;
  const ca = readFileSync(stack.TLS_CA_FILE!);
  const issuer = await TokenIssuer.fromConfig(config.identity);
  const subjects = Array.from({ length: opts.agents }, (_, i) => `agent:fleet-${runId}-${i}`);
  const tokens = await Promise.all(subjects.map((subject) => issuer.issue({ subject, groups: ['agents'], ttlMs: opts.durationMs + 30 * 60_000 })));
  const startedAtMs = Date.now();
  const offsets = { statementLog: logOffset(stack.PG_STATEMENT_LOG!), jsonApiLog: logOffset(stack.JSON_API_ACCESS_LOG ?? ''), gitLog: logOffset(stack.GIT_HTTP_ACCESS_LOG ?? '') };
  const stats = new FleetStats();
  const rand = Math.random;
  const work = mkdtempSync(join(tmpdir(), `chaperone-${applicationName}-`));
  const git = mix.git > 0 ? { repo: `${applicationName}.git`, repoDir: await createFleetRepo(stack.GIT_HTTP_ROOT!, `${applicationName}.git`) } : undefined;
  const drivers: AgentDrivers[] = subjects.map((subject, i) => ({
    pg: new PgAgent({ host: '127.0.0.1', port: Number(stack.HAPROXY_PG_PORT), subject, token: tokens[i]!, applicationName, ca, runId, agent: i, sessionOps: opts.sessionOps ?? [10, 30], rand, onOpen: () => stats.opened('postgres') }),
    http: mix.http > 0 ? new HttpAgent({ base: stack.AGENT_HTTP_BASE!, token: tokens[i]!, ca, runId, agent: i, rand, onOpen: () => stats.opened('http') }) : undefined,
    git: git ? new GitAgent({ base: stack.AGENT_HTTP_BASE!, repo: git.repo, token: tokens[i]!, caFile: stack.TLS_CA_FILE!, workDir: join(work, `agent-${i}`), agent: i, rand, onOpen: () => stats.opened('git') }) : undefined,
  }));
  if (mix.pg > 0) {
    // A few tries: a node that was just restarted (by a fault, or by someone sharing the stack) may drop the first connection.
    for (let attempt = 1; ; attempt++) {
      try {
        await drivers[0]!.pg.query('sandbox', FLEET_TABLE_SQL);
        break;
      } catch (err) {
        if (attempt >= 4) throw new FleetError('SETUP_FAILED', `could not create the fleet's table in the sandbox through the gateway: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }
  const stopper = new AbortController();
  // Every sleeping agent listens for the early stop: one listener per agent is expected.
  setMaxListeners(0, stopper.signal);
  const t0 = Date.now();
  const endAt = t0 + opts.durationMs;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        stopper.signal.removeEventListener('abort', done);
        resolve();
      }
      stopper.signal.addEventListener('abort', done, { once: true });
    });
  const endTimer = setTimeout(() => stopper.abort(), opts.durationMs);
  const interval = (1000 * opts.agents) / opts.rate;
  async function agentLoop(d: AgentDrivers): Promise<void> {
    let next = t0 + rand() * interval;
    while (!stopper.signal.aborted) {
      if (next > Date.now()) await sleep(next - Date.now());
      if (stopper.signal.aborted || Date.now() >= endAt) break;
      if (Date.now() - next > interval) stats.late++;
      // Open loop, but an agent that fell behind catches up by at most one operation.
      next = Math.max(next + interval, Date.now() - interval);
      await runOp(pick(mix, rand()), d, stats, rand);
    }
    await d.pg.close();
    d.http?.close();
  }
  if (opts.progress ?? true) {
    progress = new Progress({ durationMs: opts.durationMs, stats, ...(opts.note ? { note: opts.note } : {}) });
    progress.start();
  }
  const done = Promise.all(drivers.map((d) => agentLoop(d))).then(() => {
    clearTimeout(endTimer);
    progress?.stop();
    progress = undefined;
    rmSync(work, { recursive: true, force: true });
    const endedAtMs = Date.now();
    return {
      runId, startedAtMs, endedAtMs, subjects, applicationName, mix, git, offsets,
      report: stats.report({ runId, startedAtMs: t0, endedAtMs, agents: opts.agents, targetRate: opts.rate }),
    };
  });
  return { runId, startedAtMs, stats, done, stop: () => stopper.abort(), say };
}

/** Runs a fleet to the end. */
export async function runFleet(opts: FleetOptions): Promise<FleetRun> {
  return (await startFleet(opts)).done;
}
