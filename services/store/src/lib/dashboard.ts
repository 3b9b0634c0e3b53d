import type { Executor } from './executor.js';
import { StoreError } from './errors.js';
import { str, uint } from './sql.js';

/** A time range cut into equal buckets, for the console's dashboard. */
export interface DashboardRange {
  /** Start of the first bucket (microseconds since the epoch). */
  sinceMicros: number;
  /** End of the range, exclusive. */
  untilMicros: number;
  /** Width of a bucket; the range holds a whole number of them. */
  bucketMicros: number;
}

/** What happened in one bucket: sessions started, commands recorded and how they were decided, values masked. */
export interface DashboardBucket {
  startMicros: number;
  sessions: number;
  commands: number;
  denied: number;
  /** Commands that asked for an approval (whatever its outcome). */
  approvals: number;
  /** Values the gateway masked in results (sum of the frames' masking counts). */
  masked: number;
}

export type DashboardTotals = Omit<DashboardBucket, 'startMicros'>;

export interface DashboardIdentity {
  subject: string;
  sessions: number;
  commands: number;
  denied: number;
}

export interface DashboardDenied {
  /** The command text, at most DENIED_TEXT characters of it. */
  text: string;
  action: string;
  count: number;
  /** Identities it was denied to. */
  identities: number;
  lastMicros: number;
}

export interface DashboardStats {
  buckets: DashboardBucket[];
  totals: DashboardTotals;
  /** Identities with the most sessions started in the range. */
  topIdentities: DashboardIdentity[];
  /** Denied command texts, most often denied first. */
  topDenied: DashboardDenied[];
  /** Time of the newest event in the store, 0 when it holds none: now minus this is how far recording is behind at most. */
  newestEventMicros: number;
}

/** Characters of a denied command's text the dashboard shows. */
export const DENIED_TEXT = 200;
/** Buckets a dashboard may ask for, so a range cannot make the answer unbounded. */
export const MAX_BUCKETS = 1000;

type Row = Record<string, string | number>;
const n = (v: string | number | undefined): number => Number(v ?? 0);

function checkRange(r: DashboardRange): void {
  for (const [k, v] of Object.entries(r)) if (!Number.isSafeInteger(v) || v < 0) throw new StoreError('BAD_REQUEST', `${k} must be a non-negative integer, got ${v}`);
  const count = (r.untilMicros - r.sinceMicros) / r.bucketMicros;
  if (r.bucketMicros < 1 || !Number.isInteger(count) || count < 1 || count > MAX_BUCKETS)
    throw new StoreError('BAD_REQUEST', `the range must hold 1..${MAX_BUCKETS} whole buckets, got ${count}`);
}

/**
 * The dashboard's aggregations over one range, each a GROUP BY on the ClickHouse side. Copies of a
 * row that survive FINAL (a redelivered batch in another partition) count once: sessions and
 * commands by their ids (uniqExact), masked values per (session_id, seq) event.
 */
export async function dashboardStats(exec: Executor, range: DashboardRange, top = 10): Promise<DashboardStats> {
  checkRange(range);
  const db = exec.database;
  const { sinceMicros: s, untilMicros: u, bucketMicros: b } = range;
  const inRange = (col: string) => `${col} >= ${uint(s)} AND ${col} < ${uint(u)}`;
  const bucket = (col: string) => `intDiv(${col} - ${uint(s)}, ${uint(b)})`;
  const [sessions, commands, masked, identities, denied, newest] = await Promise.all([
    exec.select<Row>(`SELECT ${bucket('started_micros')} AS b, uniqExact(session_id) AS sessions FROM ${db}.sessions FINAL WHERE ${inRange('started_micros')} GROUP BY b`),
    exec.select<Row>(
      `SELECT ${bucket('ts_micros')} AS b, uniqExact(session_id, command_id) AS commands,` +
        ` uniqExactIf(session_id, command_id, decision = 'DENY') AS denied,` +
        ` uniqExactIf(session_id, command_id, decision = 'APPROVAL' OR approval_id != '') AS approvals` +
        ` FROM ${db}.commands FINAL WHERE ${inRange('ts_micros')} GROUP BY b`,
    ),
    exec.select<Row>(
      `SELECT b, sum(m) AS masked FROM (SELECT ${bucket('any(ts_micros)')} AS b, any(masked) AS m FROM ${db}.events` +
        ` WHERE ${inRange('ts_micros')} AND masked > 0 GROUP BY session_id, seq) GROUP BY b`,
    ),
    topIdentities(exec, inRange, top),
    exec.select<Row>(
      `SELECT substring(any(text), 1, ${DENIED_TEXT}) AS text, any(action) AS action, uniqExact(session_id, command_id) AS count,` +
        ` uniqExact(subject) AS identities, max(ts_micros) AS last FROM ${db}.commands FINAL` +
        ` WHERE ${inRange('ts_micros')} AND decision = 'DENY' GROUP BY text_sha256 ORDER BY count DESC, last DESC LIMIT ${uint(top)}`,
    ),
    newestEventMicros(exec),
  ]);
  const buckets: DashboardBucket[] = Array.from({ length: (u - s) / b }, (_, i) => ({ startMicros: s + i * b, sessions: 0, commands: 0, denied: 0, approvals: 0, masked: 0 }));
  const fill = (rows: Row[], keys: (keyof DashboardTotals)[]) => {
    for (const r of rows) {
      const at = buckets[n(r.b)];
      if (at) for (const k of keys) at[k] = n(r[k]);
    }
  };
  fill(sessions, ['sessions']);
  fill(commands, ['commands', 'denied', 'approvals']);
  fill(masked, ['masked']);
  const totals: DashboardTotals = { sessions: 0, commands: 0, denied: 0, approvals: 0, masked: 0 };
  for (const x of buckets) for (const k of Object.keys(totals) as (keyof DashboardTotals)[]) totals[k] += x[k];
  return {
    buckets, totals, topIdentities: identities, newestEventMicros: newest,
    topDenied: denied.map((r) => ({ text: String(r.text), action: String(r.action), count: n(r.count), identities: n(r.identities), lastMicros: n(r.last) })),
  };
}

/** The identities with the most sessions in the range, with their commands and denials there. */
async function topIdentities(exec: Executor, inRange: (col: string) => string, top: number): Promise<DashboardIdentity[]> {
  const db = exec.database;
  const bySessions = await exec.select<Row>(
    `SELECT subject, uniqExact(session_id) AS sessions FROM ${db}.sessions FINAL WHERE ${inRange('started_micros')}` +
      ` GROUP BY subject ORDER BY sessions DESC, subject LIMIT ${uint(top)}`,
  );
  if (bySessions.length === 0) return [];
  const byCommands = await exec.select<Row>(
    `SELECT subject, uniqExact(session_id, command_id) AS commands, uniqExactIf(session_id, command_id, decision = 'DENY') AS denied` +
      ` FROM ${db}.commands FINAL WHERE ${inRange('ts_micros')} AND subject IN (${bySessions.map((r) => str(String(r.subject))).join(', ')}) GROUP BY subject`,
  );
  const cmds = new Map(byCommands.map((r) => [String(r.subject), r]));
  return bySessions.map((r) => {
    const c = cmds.get(String(r.subject));
    return { subject: String(r.subject), sessions: n(r.sessions), commands: n(c?.commands), denied: n(c?.denied) };
  });
}

/**
 * Time of the newest stored event: the last day's partitions first (event_date prunes the rest),
 * the whole table only when nothing was recorded that recently.
 */
async function newestEventMicros(exec: Executor): Promise<number> {
  const newest = async (where: string) => n((await exec.select<Row>(`SELECT max(ts_micros) AS t FROM ${exec.database}.events${where}`))[0]?.t);
  return (await newest(' WHERE event_date >= yesterday()')) || newest('');
}
