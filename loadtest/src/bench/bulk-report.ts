import type { BulkCaseName } from './bulk-options.js';

/** The targets of the bulk paths. */
export const BULK_TARGETS = {
  /** Chaperone's time over direct, per case. */
  maxRatio: 3,
  /** Growth of a gateway node's resident memory during a case. */
  maxRssGrowthBytes: 64 * 1024 * 1024,
  /** `chaperone replay --no-wait` to the first result row, node start included. */
  maxReplayFirstRowMs: 1000,
} as const;

/** One client run. */
export interface ClientRun {
  ms: number;
  exitCode: number;
  /** The last line the client wrote on stderr, when it failed. */
  error?: string;
}

/** Resident memory of one gateway node around a run. */
export interface RssGrowth {
  node: string;
  beforeBytes: number;
  maxBytes: number;
  growthBytes: number;
  samples: number;
}

/** One recorded session of a case, and what `chaperone verify` said of it. */
export interface RecordedSessionCheck {
  sessionId: string;
  /** sealed, incomplete, ended-unsigned or open, as the store shows it. */
  state: string;
  events: number;
  gapFree: boolean;
  /** Bytes the gateway forwarded to the client (sessions.bytes_out). */
  bytesOut: number;
  verify?: { exitCode: number; summary: string; ms: number };
}

export interface RecordingCheck {
  sessions: RecordedSessionCheck[];
  /** From the client's exit until every session was sealed with a gap-free chain in ClickHouse. */
  materializedMs?: number;
  /** Why the check could not finish (nothing recorded in time, …). */
  error?: string;
}

export interface BulkCase {
  name: BulkCaseName;
  /** The client command, without connection details. */
  command: string;
  direct: ClientRun;
  chaperone: ClientRun;
  /** Per gateway node; empty when no node's /metrics answered. */
  rss: RssGrowth[];
  recording?: RecordingCheck;
}

export interface ReplayTiming {
  sessionId: string;
  /** `chaperone replay --no-wait` until its first result-row line; undefined when none came. */
  cliFirstRowMs?: number;
  /** What ended the CLI run when no row came (exit code, timeout). */
  cliOutcome?: string;
  /** The API's Replay stream alone, to its first event and to the first frame holding a DataRow. */
  apiFirstEventMs?: number;
  apiFirstDataRowMs?: number;
  /** Why the API timing is missing (an error, no DataRow in time). */
  apiOutcome?: string;
}

export interface BulkReport {
  date: string;
  machine: string;
  /** Size of the database pg-dump dumps, bytes (pg_database_size). */
  databaseBytes?: number;
  cases: BulkCase[];
  replay?: ReplayTiming;
}

export interface Verdict {
  target: string;
  met: boolean;
  line: string;
}

export const CASE_TITLES: Record<BulkCaseName, string> = { 'pg-dump': 'pg_dump', 'big-select': 'big SELECT' };

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ok = (met: boolean) => (met ? 'met' : 'NOT met');

/** Chaperone's time over direct; undefined when either run failed. */
export function ratio(c: BulkCase): number | undefined {
  if (c.direct.exitCode !== 0 || c.chaperone.exitCode !== 0 || c.direct.ms <= 0) return undefined;
  return c.chaperone.ms / c.direct.ms;
}

/** The node that grew most, or undefined when none was measured. */
export function worstGrowth(rss: readonly RssGrowth[]): RssGrowth | undefined {
  return rss.reduce<RssGrowth | undefined>((w, r) => (!w || r.growthBytes > w.growthBytes ? r : w), undefined);
}

/** Intact: at least one session recorded, and `chaperone verify` exited 0 for every one. */
export function recordingIntact(r: RecordingCheck | undefined): boolean {
  return !!r && !r.error && r.sessions.length > 0 && r.sessions.every((s) => s.verify?.exitCode === 0);
}

function recordingProblem(r: RecordingCheck | undefined): string {
  if (!r) return 'not checked';
  if (r.error) return r.error.replace(/\.$/, '');
  if (r.sessions.length === 0) return 'no session recorded';
  const bad = r.sessions.filter((s) => s.verify?.exitCode !== 0);
  return bad.map((s) => `${s.sessionId}: ${s.verify ? `verify exit ${s.verify.exitCode}: ${s.verify.summary}` : `${s.state}, not verified`}`).join('; ');
}

function caseVerdicts(c: BulkCase): Verdict[] {
  const title = CASE_TITLES[c.name];
  const r = ratio(c);
  const failed = c.chaperone.exitCode !== 0 ? `failed through Chaperone (exit ${c.chaperone.exitCode}${c.chaperone.error ? `: ${c.chaperone.error}` : ''})` : 'the direct run failed';
  const grew = worstGrowth(c.rss);
  const rssMet = !!grew && grew.growthBytes <= BULK_TARGETS.maxRssGrowthBytes;
  const intact = recordingIntact(c.recording);
  return [
    {
      target: `${c.name}.ratio`,
      met: r !== undefined && r <= BULK_TARGETS.maxRatio,
      line:
        r === undefined
          ? `${title}: ${failed} (target ≤ ${BULK_TARGETS.maxRatio}× direct): NOT met`
          : `${title}: Chaperone ${r.toFixed(2)}× direct (target ≤ ${BULK_TARGETS.maxRatio}×): ${ok(r <= BULK_TARGETS.maxRatio)}`,
    },
    {
      target: `${c.name}.rss`,
      met: rssMet,
      line: grew
        ? `${title}: gateway RSS grew ${mib(grew.growthBytes)} (${grew.node}; target ≤ ${mib(BULK_TARGETS.maxRssGrowthBytes)}): ${ok(rssMet)}`
        : `${title}: gateway RSS not measured (no gateway /metrics answered; target ≤ ${mib(BULK_TARGETS.maxRssGrowthBytes)}): NOT met`,
    },
    {
      target: `${c.name}.recording`,
      met: intact,
      line: intact
        ? `${title}: recording intact (${c.recording!.sessions.length} session(s), chaperone verify exit 0): met`
        : `${title}: recording not intact — ${recordingProblem(c.recording)}: NOT met`,
    },
  ];
}

function replayVerdict(r: ReplayTiming): Verdict {
  const ms = r.cliFirstRowMs;
  const met = ms !== undefined && ms <= BULK_TARGETS.maxReplayFirstRowMs;
  const target = `target ≤ ${BULK_TARGETS.maxReplayFirstRowMs} ms`;
  return {
    target: 'replay.firstRow',
    met,
    line:
      ms === undefined
        ? `replay: no result row printed (${r.cliOutcome ?? 'no output'}; ${target}): NOT met`
        : `replay: first result row after ${Math.round(ms)} ms (${target}): ${ok(met)}`,
  };
}

/** Every target, met or not (a target that could not be measured is not met). */
export function bulkVerdicts(r: BulkReport): Verdict[] {
  return [...r.cases.flatMap(caseVerdicts), ...(r.replay ? [replayVerdict(r.replay)] : [])];
}

function runCell(run: ClientRun): string {
  return run.exitCode === 0 ? seconds(run.ms) : `FAILED (${run.exitCode})`;
}

function recordingCell(r: RecordingCheck | undefined): string {
  if (!r) return '-';
  if (r.error) return r.error;
  const events = r.sessions.reduce((n, s) => n + s.events, 0);
  const bytes = r.sessions.reduce((n, s) => n + s.bytesOut, 0);
  const verify = r.sessions.reduce((n, s) => n + (s.verify?.ms ?? 0), 0);
  const state = recordingIntact(r) ? 'intact' : 'NOT intact';
  const when = r.materializedMs !== undefined ? `, sealed ${seconds(r.materializedMs)} after the client` : '';
  return `${state}: ${r.sessions.length} session(s), ${events} events, ${mib(bytes)} to the client${when}, verify ${seconds(verify)}`;
}

function replayLine(r: ReplayTiming): string {
  const cli = r.cliFirstRowMs !== undefined ? `first result row after ${Math.round(r.cliFirstRowMs)} ms` : `no result row (${r.cliOutcome ?? 'no output'})`;
  const api = (label: string, ms: number | undefined) => `${label} ${ms === undefined ? '-' : `${Math.round(ms)} ms`}`;
  const why = r.apiOutcome ? ` (${r.apiOutcome})` : '';
  return `replay of the big SELECT session ${r.sessionId}: \`chaperone replay --no-wait\` ${cli} (node start included); API alone: ${api('first event', r.apiFirstEventMs)}, ${api('first DataRow', r.apiFirstDataRowMs)}${why}`;
}

const pad = (s: string, n: number) => s.padEnd(n);

/** The human report: a table of the cases, the replay, then the verdicts. */
export function formatBulkReport(r: BulkReport): string {
  const size = r.databaseBytes !== undefined ? `; sandbox database ${mib(r.databaseBytes)}` : '';
  const head = `bulk paths, direct vs Chaperone; ${r.date}; ${r.machine}${size}`;
  const rows = [
    `${pad('case', 11)} | ${pad('direct', 11)} | ${pad('chaperone', 11)} | ${pad('ratio', 5)} | ${pad('gateway RSS growth', 26)} | recording`,
    ...r.cases.map((c) => {
      const q = ratio(c);
      const grew = worstGrowth(c.rss);
      const rss = grew ? `+${mib(grew.growthBytes)} (${grew.node})` : 'not measured';
      return `${pad(CASE_TITLES[c.name], 11)} | ${pad(runCell(c.direct), 11)} | ${pad(runCell(c.chaperone), 11)} | ${pad(q === undefined ? '-' : q.toFixed(2), 5)} | ${pad(rss, 26)} | ${recordingCell(c.recording)}`;
    }),
  ];
  const commands = r.cases.map((c) => `  ${CASE_TITLES[c.name]}: ${c.command}`);
  const failures = r.cases.flatMap((c) => (['direct', 'chaperone'] as const).filter((t) => c[t].error).map((t) => `  ${CASE_TITLES[c.name]} ${t}: ${c[t].error!}`));
  const parts = [head, '', ...rows, '', 'commands:', ...commands];
  if (failures.length) parts.push('failures:', ...failures);
  if (r.replay) parts.push('', replayLine(r.replay));
  parts.push('', ...bulkVerdicts(r).map((v) => v.line));
  return parts.join('\n');
}
