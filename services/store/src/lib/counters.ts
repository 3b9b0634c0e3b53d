import type { Executor } from './executor.js';
import { str } from './sql.js';
import type { SessionSummary } from './types.js';

const num = (v: unknown): number => Number(v ?? 0);
const inList = (ids: readonly string[]): string => ids.map(str).join(', ');

/**
 * Completes the counters of listed sessions from the recording (types.ts, SessionCounters): the
 * Frame events and the protocol messages in them of every one — what `chaperone replay` counts, so
 * the two agree — and for sessions still open, whose gateway counters arrive with SessionEnded,
 * their bytes so far and their commands and denials. Reading an open session's bytes reads its
 * frames' payloads: it is done for open sessions only.
 */
export async function addRecordedCounts(exec: Executor, sessions: SessionSummary[]): Promise<void> {
  if (sessions.length === 0) return;
  const db = exec.database;
  const open = sessions.filter((s) => !s.ended).map((s) => s.sessionId);
  const [frames, live, commands] = await Promise.all([
    exec.select<Record<string, unknown>>(
      `SELECT session_id, countIf(direction = 'CLIENT_TO_SERVER') AS frames_in, countIf(direction = 'SERVER_TO_CLIENT') AS frames_out,` +
        // A frame row with empty message_types (not written by this store) is one message, as the Avro reader says.
        ` sumIf(if(empty(message_types), 1, length(message_types)), direction = 'CLIENT_TO_SERVER') AS messages_in,` +
        ` sumIf(if(empty(message_types), 1, length(message_types)), direction = 'SERVER_TO_CLIENT') AS messages_out` +
        ` FROM ${db}.events FINAL PREWHERE session_id IN (${inList(sessions.map((s) => s.sessionId))}) WHERE type = 'Frame' GROUP BY session_id`,
    ),
    open.length === 0
      ? Promise.resolve([])
      : exec.select<Record<string, unknown>>(
          `SELECT session_id,` +
            ` sumIf(length(payload), direction = 'CLIENT_TO_SERVER' AND redacted = 0) AS bytes_in, sumIf(length(payload), direction = 'SERVER_TO_CLIENT' AND redacted = 0) AS bytes_out` +
            ` FROM ${db}.events FINAL PREWHERE session_id IN (${inList(open)}) WHERE type = 'Frame' GROUP BY session_id`,
        ),
    open.length === 0
      ? Promise.resolve([])
      : exec.select<Record<string, unknown>>(
          `SELECT session_id, count() AS commands, countIf(decision = 'DENY') AS denied FROM ${db}.commands FINAL` +
            ` WHERE session_id IN (${inList(open)}) GROUP BY session_id`,
        ),
  ]);
  const by = new Map(sessions.map((s) => [s.sessionId, s]));
  for (const r of frames) {
    const c = by.get(String(r['session_id']))?.counters;
    if (c) Object.assign(c, { framesIn: num(r['frames_in']), framesOut: num(r['frames_out']), messagesIn: num(r['messages_in']), messagesOut: num(r['messages_out']) });
  }
  for (const r of live) {
    const c = by.get(String(r['session_id']))?.counters;
    if (c) Object.assign(c, { bytesIn: num(r['bytes_in']), bytesOut: num(r['bytes_out']) });
  }
  for (const r of commands) {
    const c = by.get(String(r['session_id']))?.counters;
    if (c) Object.assign(c, { commands: num(r['commands']), denied: num(r['denied']) });
  }
}
