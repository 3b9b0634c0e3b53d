import { parseRow, selectList } from './columns.js';
import type { Executor } from './executor.js';
import { SESSION_COLUMNS, emptySessionRow, type ColumnSpec, type SessionRow } from './rows.js';
import { str, uint } from './sql.js';
import type { IncompleteSeal } from './types.js';

/** end_reason of a sessions row written by a materializer seal (gateways never use it). */
export const IDLE_REASON = 'idle-timeout';

/** A session with no event since a cutoff and no SessionEnded: a candidate for an incomplete seal. */
export interface IdleSession {
  sessionId: string;
  /** seq of the newest stored event. */
  lastSeq: number;
  /** Hex hash of that event. */
  headHash: string;
  lastEventMicros: number;
}

const SEAL_COLUMNS: readonly ColumnSpec[] = [
  { name: 'session_id', type: 'String' }, { name: 'last_seq', type: 'UInt64' }, { name: 'head_hash', type: 'String' },
  { name: 'last_event_micros', type: 'UInt64' }, { name: 'sealed_at', type: 'DateTime' }, { name: 'sealed_micros', type: 'UInt64' },
  { name: 'sealed_by', type: 'String' }, { name: 'reason', type: 'String' }, { name: 'signature', type: 'String' },
];

const ID_CHUNK = 1000;

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/**
 * Sessions without SessionEnded whose newest event is older than cutoffMicros, plus sessions a
 * seal already ended that received events afterwards (they went on, and are sealed again).
 */
export async function idleSessions(exec: Executor, cutoffMicros: number, limit = 1000): Promise<IdleSession[]> {
  const db = exec.database;
  const open = await exec.select<{ session_id: string; last_seq: string; end_reason: string }>(
    `SELECT session_id, last_seq, end_reason FROM ${db}.sessions FINAL WHERE ended_micros = 0 OR end_reason = ${str(IDLE_REASON)}`,
  );
  const sealedAt = new Map(open.map((r) => [r.session_id, r.end_reason === IDLE_REASON ? Number(r.last_seq) : -1]));
  const out: IdleSession[] = [];
  for (const ids of chunks([...sealedAt.keys()], ID_CHUNK)) {
    const rows = await exec.select<{ session_id: string; last_seq: string; head_hash: string; last_micros: string }>(
      `SELECT session_id, max(seq) AS last_seq, argMax(hash, seq) AS head_hash, max(ts_micros) AS last_micros FROM ${db}.events` +
        ` WHERE session_id IN (${ids.map(str).join(', ')}) GROUP BY session_id HAVING last_micros < ${uint(cutoffMicros)}`,
    );
    for (const r of rows) {
      const lastSeq = Number(r.last_seq);
      if (lastSeq <= (sealedAt.get(r.session_id) ?? -1)) continue;
      out.push({ sessionId: r.session_id, lastSeq, headHash: r.head_hash, lastEventMicros: Number(r.last_micros) });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** The newest incomplete seal of a session, if a materializer sealed it. */
export async function readSeal(exec: Executor, sessionId: string): Promise<IncompleteSeal | undefined> {
  const [r] = await exec.select<Record<string, string>>(
    `SELECT session_id, last_seq, head_hash, last_event_micros, sealed_micros, sealed_by, reason, signature FROM ${exec.database}.session_seals` +
      ` WHERE session_id = ${str(sessionId)} ORDER BY sealed_micros DESC LIMIT 1`,
  );
  if (!r) return undefined;
  return {
    sessionId: r.session_id!, lastSeq: Number(r.last_seq), headHash: r.head_hash!, lastEventMicros: Number(r.last_event_micros),
    sealedMicros: Number(r.sealed_micros), sealedBy: r.sealed_by!, reason: r.reason!, signature: r.signature!,
  };
}

/**
 * Records an incomplete seal: the seal row, and the session's row ended as `incomplete` with
 * counters counted from what was stored. The row's version is the sealed seq, so a SessionEnded
 * that still arrives (a higher seq) replaces it.
 */
export async function writeSeal(exec: Executor, seal: IncompleteSeal): Promise<void> {
  const db = exec.database;
  const id = str(seal.sessionId);
  await exec.insert('session_seals', SEAL_COLUMNS, [
    {
      session_id: seal.sessionId, last_seq: seal.lastSeq, head_hash: seal.headHash, last_event_micros: seal.lastEventMicros,
      sealed_at: Math.floor(seal.sealedMicros / 1e6), sealed_micros: seal.sealedMicros, sealed_by: seal.sealedBy, reason: seal.reason, signature: seal.signature,
    },
  ]);
  const [current] = await exec.select<Record<string, unknown>>(
    `SELECT ${selectList(SESSION_COLUMNS)} FROM ${db}.sessions FINAL WHERE session_id = ${id} ORDER BY version DESC LIMIT 1`,
  );
  const [c] = await exec.select<Record<string, string>>(
    `SELECT countIf(type = 'Frame' AND direction = 'CLIENT_TO_SERVER') AS frames_in, countIf(type = 'Frame' AND direction = 'SERVER_TO_CLIENT') AS frames_out,` +
      ` sumIf(length(payload), direction = 'CLIENT_TO_SERVER') AS bytes_in, sumIf(length(payload), direction = 'SERVER_TO_CLIENT') AS bytes_out,` +
      ` countIf(type = 'Command') AS commands FROM ${db}.events FINAL WHERE session_id = ${id} AND seq <= ${uint(seal.lastSeq)}`,
  );
  const [d] = await exec.select<{ denied: string }>(`SELECT countIf(decision = 'DENY') AS denied FROM ${db}.commands FINAL WHERE session_id = ${id}`);
  const base = current ? parseRow<SessionRow>(SESSION_COLUMNS, current) : emptySessionRow(seal.sessionId);
  const ended = Math.floor(seal.lastEventMicros / 1e6);
  const row: SessionRow = {
    ...base,
    ended_at: ended, ended_micros: seal.lastEventMicros, end_reason: IDLE_REASON,
    end_error: `no SessionEnded: sealed incomplete by ${seal.sealedBy} after seq ${seal.lastSeq}`,
    frames_in: Number(c?.frames_in ?? 0), frames_out: Number(c?.frames_out ?? 0), bytes_in: Number(c?.bytes_in ?? 0), bytes_out: Number(c?.bytes_out ?? 0),
    commands: Number(c?.commands ?? 0), denied: Number(d?.denied ?? 0),
    last_seq: seal.lastSeq, final_hash: seal.headHash, signature: seal.signature, sealed_by: seal.sealedBy, complete: 0, sealed: 0,
    // A session whose start was never stored still needs a partition.
    started_date: base.started_date || Math.floor(ended / 86400),
    version: Math.max(base.version, seal.lastSeq),
  };
  await exec.insert('sessions', SESSION_COLUMNS, [row]);
}
