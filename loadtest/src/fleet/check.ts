import type { HttpRoute } from '../loss/access-log.js';
import type { LossReader } from '../loss/sessions.js';
import { checkRun, readLogFrom, type RunCheckOptions, type RunLossReport } from '../loss/run.js';
import type { FleetRun } from './fleet.js';
import type { Stack } from './stack.js';

export interface FleetCheckOptions {
  /** adminReader(createHttpExecutor(config.clickhouse)) or a Store. */
  store: LossReader;
  stack: Stack;
  /** Accept sessions cut off without an end (a killed node, a Kafka outage); see CheckOptions.tolerateCutOff. @default false */
  tolerateCutOff?: boolean;
  /** How long to wait for the materializer to catch up before the last report stands. @default 90000 */
  timeoutMs?: number;
  /** Called after each attempt that did not pass yet. */
  onAttempt?: (r: RunLossReport, attempt: number) => void;
}

/** The loss checker's inputs for one fleet run: its subjects, its upstream backends, its requests, its repository. */
export function fleetCheckInputs(run: FleetRun, stack: Stack, store: LossReader, tolerateCutOff = false): RunCheckOptions {
  const http: HttpRoute[] = [];
  if (run.mix.http > 0) {
    http.push({ connection: 'api', stripPrefix: '/api', accessLog: readLogFrom(stack.JSON_API_ACCESS_LOG!, run.offsets.jsonApiLog), includes: (t) => t.includes(`fleet=${run.runId}&`) });
  }
  if (run.git) {
    const repo = run.git.repo;
    http.push({ connection: 'git', stripPrefix: '/git', accessLog: readLogFrom(stack.GIT_HTTP_ACCESS_LOG!, run.offsets.gitLog), includes: (t) => t.startsWith(`/${repo}/`) });
  }
  return {
    store,
    sinceMs: run.startedAtMs,
    subjects: run.subjects,
    postgres: { statementLog: readLogFrom(stack.PG_STATEMENT_LOG!, run.offsets.statementLog), upstreamUser: stack.PG_UPSTREAM_USER ?? 'chaperone_upstream', applicationName: run.applicationName },
    http,
    ...(run.git ? { git: run.git } : {}),
    tolerateCutOff,
  };
}

/**
 * Runs the loss checker over a finished fleet run until it passes or `timeoutMs` passes (the
 * materializer may still be catching up after a fault); returns the last report.
 */
export async function checkFleet(run: FleetRun, opts: FleetCheckOptions): Promise<RunLossReport> {
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (let attempt = 1; ; attempt++) {
    // The logs are read again each time: a request in flight at the end may be logged a little later.
    const inputs = fleetCheckInputs(run, opts.stack, opts.store, opts.tolerateCutOff);
    let report: RunLossReport | undefined;
    try {
      report = await checkRun(inputs);
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    if (report?.ok || (report && Date.now() >= deadline)) return report;
    if (report) opts.onAttempt?.(report, attempt);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
