import type { Executor, QueryOptions } from '@chaperone/store';

/** Where a recorded session stands, as the loss checker sees it. */
export type SealState =
  /** Ended by its gateway with a signed SessionEnded. */
  | 'sealed'
  /** Ended by the materializer's incomplete seal (no SessionEnded arrived in time). */
  | 'incomplete'
  /** A SessionEnded without a signature: never written by a healthy gateway. */
  | 'ended-unsigned'
  /** No end recorded (yet): still running, not materialized yet, or cut off. */
  | 'open';

export interface RecordedSession {
  sessionId: string;
  subject: string;
  protocol: string;
  nodeId: string;
  startedMicros: number;
  state: SealState;
  endReason: string;
  /** Distinct events stored, and the highest seq: a gap-free chain has events = maxSeq + 1. */
  events: number;
  maxSeq: number;
}

/**
 * What the loss checker reads ClickHouse through: a Store (its read-only SOC user) or, for
 * stores holding huge sessions, `adminReader` (the services' user, with more memory per query).
 */
export interface LossReader {
  readonly database: string;
  query(sql: string, opts: QueryOptions): Promise<{ rows: (string | null)[][] }>;
}

/**
 * A reader over an Executor's service connection. Reading `events.payload` touches whole
 * granules, and a granule holding a recorded multi-MiB result set can exceed the read-only
 * profile's memory limit.
 */
export function adminReader(exec: Executor): LossReader {
  return {
    database: exec.database,
    async query(sql) {
      const rows = await exec.select<Record<string, unknown>>(sql);
      return { rows: rows.map((r) => Object.values(r).map((v) => (v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number)))) };
    },
  };
}

/** Scope of a check: sessions started since `sinceMs`, of these subjects (all when empty). */
export interface SessionScope {
  store: LossReader;
  sinceMs: number;
  subjects?: string[] | undefined;
}

/** End reasons that mean the client itself closed the session (nothing was cut off). */
export const CLIENT_ENDS = new Set(['client-terminate', 'client-closed']);

/** A ClickHouse string literal (18.16 has no query parameters). */
export const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** SQL condition selecting the scope's sessions in a table that has `subject` and a start time column. */
export function scopeWhere(scope: SessionScope, timeColumn: string): string {
  const since = Math.floor(scope.sinceMs / 1000) - 1;
  const subjects = scope.subjects?.length ? ` AND subject IN (${scope.subjects.map(lit).join(',')})` : '';
  return `${timeColumn} >= ${since}${subjects}`;
}

/** `session_id IN (…)` for tables without a subject column (events). */
export function sessionSubquery(scope: SessionScope): string {
  return `session_id IN (SELECT session_id FROM ${scope.store.database}.sessions WHERE ${scopeWhere(scope, 'started_at')})`;
}

function stateOf(endedMicros: string, complete: string, sealed: string): SealState {
  if (endedMicros === '0') return 'open';
  if (complete !== '1') return 'incomplete';
  return sealed === '1' ? 'sealed' : 'ended-unsigned';
}

/** The scope's sessions with their seal state and chain extent (one query each for rows and events). */
export async function loadSessions(scope: SessionScope): Promise<RecordedSession[]> {
  // argMax by version instead of FINAL, and uniqExact instead of FINAL on events: FINAL merges
  // whole parts and runs out of the read-only profile's memory on a store with large sessions.
  const cols = ['subject', 'protocol', 'node_id', 'started_micros', 'ended_micros', 'complete', 'sealed', 'end_reason'].map((c) => `argMax(${c}, version)`).join(', ');
  const rows = await scope.store.query(`SELECT session_id, ${cols} FROM ${scope.store.database}.sessions WHERE ${scopeWhere(scope, 'started_at')} GROUP BY session_id`, {
    readonly: true,
    maxRows: 1_000_000,
  });
  const extent = await scope.store.query(`SELECT session_id, uniqExact(seq) AS n, max(seq) AS last FROM ${scope.store.database}.events WHERE ${sessionSubquery(scope)} GROUP BY session_id`, {
    readonly: true,
    maxRows: 1_000_000,
  });
  const ext = new Map(extent.rows.map((r) => [r[0]!, { events: Number(r[1]), maxSeq: Number(r[2]) }]));
  return rows.rows.map((r) => ({
    sessionId: r[0]!,
    subject: r[1]!,
    protocol: r[2]!,
    nodeId: r[3]!,
    startedMicros: Number(r[4]),
    state: stateOf(r[5]!, r[6]!, r[7]!),
    endReason: r[8]!,
    events: ext.get(r[0]!)?.events ?? 0,
    maxSeq: ext.get(r[0]!)?.maxSeq ?? -1,
  }));
}

/** True when the session's stored events run from seq 0 to its highest seq without a hole. */
export function gapFree(s: RecordedSession): boolean {
  return s.events > 0 && s.events === s.maxSeq + 1;
}

/**
 * Sessions whose recorded commands may legitimately never have reached the upstream: anything
 * not ended by its own client (a killed node, recording unavailable, a drain deadline) could
 * have recorded a command and then lost the connection before or while forwarding it.
 */
export function cutSessions(sessions: RecordedSession[]): Set<string> {
  return new Set(sessions.filter((s) => s.state !== 'sealed' || !CLIENT_ENDS.has(s.endReason)).map((s) => s.sessionId));
}

/**
 * The newest version of each command row of the scope (what `commands FINAL` shows), as
 * session_id, command_id and then the given columns.
 */
export function latestCommands(scope: SessionScope, columns: string[], where = '1'): string {
  return `SELECT session_id, command_id, ${columns.map((c) => `argMax(${c}, version) AS ${c}`).join(', ')} FROM ${scope.store.database}.commands WHERE ${sessionSubquery(scope)} GROUP BY session_id, command_id HAVING ${where}`;
}
