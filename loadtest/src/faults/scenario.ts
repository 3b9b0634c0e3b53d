import { loadConfig, type Config } from '@chaperone/config';
import { createHttpExecutor } from '@chaperone/store';
import { checkFleet } from '../fleet/check.js';
import { FleetError } from '../fleet/errors.js';
import { startFleet, type FleetHandle, type FleetOptions, type FleetRun } from '../fleet/fleet.js';
import { deploy, loadStack, waitHealthy, type Stack } from '../fleet/stack.js';
import { formatReport } from '../fleet/stats.js';
import type { RunLossReport } from '../loss/run.js';
import { adminReader, type LossReader } from '../loss/sessions.js';

/** What a fault gets to work with while the fleet runs. */
export interface FaultContext {
  stack: Stack;
  config: Config;
  fleet: FleetHandle;
  /** Reads ClickHouse (for verify). */
  store: LossReader;
  /** A line above the progress bar, and in the result's timeline. */
  say(message: string): void;
}

/** One fault scenario: what it breaks, how it brings it back, what agents should have seen. */
export interface Fault {
  name: string;
  title: string;
  /** What agents see, and what must hold (printed with the verdict). */
  expectation: string;
  /** The fault leaves sessions without an end (a crashed node, recording unavailable). */
  cutsSessions: boolean;
  /** Breaks something; resolves once it is broken. */
  inject(ctx: FaultContext): Promise<void>;
  /** Brings it back and waits until it is healthy. */
  recover(ctx: FaultContext): Promise<void>;
  /** Checks beyond the loss checker, after the run; returns the problems found. */
  verify?(ctx: FaultContext, run: FleetRun, loss: RunLossReport): Promise<string[]>;
  /** Components that must be healthy before the fault is injected. */
  needs?: string[];
}

export interface ScenarioOptions {
  fleet: Omit<FleetOptions, 'stack' | 'config' | 'note'>;
  /** When the fault is injected, from the fleet's start. @default a third of the duration */
  faultAtMs?: number;
  /** How long the fault lasts before recovery starts. @default 3000 */
  holdMs?: number;
  /** How long the loss check waits for the materializer to catch up. @default 120000 */
  checkTimeoutMs?: number;
  stack?: Stack;
  config?: Config;
}

export interface ScenarioResult {
  fault: string;
  title: string;
  expectation: string;
  ok: boolean;
  /** Seconds since the fleet's start, and what happened. */
  timeline: { atS: number; event: string }[];
  run: FleetRun;
  loss: RunLossReport;
  problems: string[];
  /** Operations that succeeded / failed from the fault until recovery, and after it. */
  during: { ok: number; errors: number };
  after: { ok: number; errors: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Starts a fleet, injects the fault mid-run, recovers, lets the fleet finish, makes sure the
 * stack is healthy again (other tests run after this in the same stack), then runs the loss
 * checker and the fault's own checks. The stack is restored even when something throws.
 */
export async function runScenario(fault: Fault, opts: ScenarioOptions): Promise<ScenarioResult> {
  const stack = opts.stack ?? loadStack();
  const config = opts.config ?? loadConfig(stack.CHAPERONE_CONFIG);
  const exec = createHttpExecutor(config.clickhouse);
  const store = adminReader(exec);
  const timeline: { atS: number; event: string }[] = [];
  let phase = 'warming up';
  let handle: FleetHandle | undefined;
  let t0 = Date.now();
  const say = (event: string) => {
    timeline.push({ atS: Math.round((Date.now() - t0) / 100) / 10, event });
    const line = `[${fault.name} +${timeline.at(-1)!.atS}s] ${event}`;
    if (handle) handle.say(line);
    else process.stderr.write(`${line}\n`);
  };
  let injected = false;
  let recovered = false;
  try {
    await waitHealthy(120_000, fault.needs);
    handle = await startFleet({ ...opts.fleet, stack, config, note: () => phase });
    t0 = Date.now();
    const ctx: FaultContext = { stack, config, fleet: handle, store, say };
    const faultAt = opts.faultAtMs ?? Math.floor(opts.fleet.durationMs / 3);
    await sleep(faultAt - (Date.now() - t0));
    phase = `fault: ${fault.title}`;
    say(`injecting: ${fault.title}`);
    const faultStart = Date.now();
    injected = true;
    await fault.inject(ctx);
    say('fault in place');
    await sleep(opts.holdMs ?? 3000);
    phase = 'recovering';
    say('recovering');
    await fault.recover(ctx);
    recovered = true;
    const recoveredAt = Date.now();
    say('recovered');
    phase = 'after recovery';
    const run = await handle.done;
    say('fleet finished');
    await waitHealthy(120_000);
    phase = 'loss check';
    say('stack healthy; running the loss checker');
    const loss = await checkFleet(run, { store, stack, tolerateCutOff: fault.cutsSessions, timeoutMs: opts.checkTimeoutMs ?? 120_000 });
    const problems = [...loss.problems, ...((await fault.verify?.(ctx, run, loss)) ?? [])];
    say(`verdict: ${problems.length === 0 ? 'PASS' : 'FAIL'}`);
    return {
      fault: fault.name,
      title: fault.title,
      expectation: fault.expectation,
      ok: loss.ok && problems.length === 0,
      timeline,
      run,
      loss,
      problems,
      during: handle.stats.between(faultStart, recoveredAt),
      after: handle.stats.between(recoveredAt + 2000, run.endedAtMs),
    };
  } catch (err) {
    handle?.stop();
    await handle?.done.catch(() => undefined);
    throw err instanceof FleetError ? err : new FleetError('FAULT_FAILED', `${fault.name}: ${(err as Error).message}`);
  } finally {
    if (injected && !recovered) {
      say('restoring the stack after a failure');
      await deploy('up', ['--quiet']).catch((e: Error) => say(`could not restore the stack: ${e.message}`));
    }
    await exec.close();
  }
}

/** The verdict, the timeline and the loss report as text. */
export function formatScenario(r: ScenarioResult, formatLoss: (l: RunLossReport) => string): string {
  return [
    `${r.fault}: ${r.ok ? 'PASS' : 'FAIL'} — ${r.title}`,
    `  expectation: ${r.expectation}`,
    ...r.timeline.map((t) => `  +${t.atS.toFixed(1)}s ${t.event}`),
    `  during the fault: ${r.during.ok} ok, ${r.during.errors} errors; after recovery: ${r.after.ok} ok, ${r.after.errors} errors`,
    formatReport(r.run.report).replace(/^/gm, '  '),
    formatLoss(r.loss).replace(/^/gm, '  '),
    ...r.problems.filter((p) => !r.loss.problems.includes(p)).map((p) => `  ✗ ${p}`),
  ].join('\n');
}
