import { frameMessages } from '@chaperone/events';
import { lit, sessionSubquery, type SessionScope } from './sessions.js';

/** One protocol message of a recorded Frame, cut out of the frame's bytes. */
export interface RecordedMessage {
  sessionId: string;
  /** The frame's time (every message of one frame shares it). */
  tsMicros: number;
  message: Buffer;
}

/**
 * SQL for the scope's Frame events that hold a protocol message of `type`: anywhere in a v2
 * frame (`message_types`, since a frame is one forwarded write of several messages and
 * `message_type` names only the first), or as the one message of a v1 frame (`message_types`
 * empty). PREWHERE: payload is read only for granules holding such a frame. Types and offsets come
 * back as text (types hex-encoded) because the Store and adminReader render arrays differently.
 */
export function framesHoldingSql(scope: SessionScope, type: string): string {
  const t = lit(type);
  return (
    `SELECT session_id, ts_micros, hex(payload), message_type, arrayStringConcat(arrayMap(t -> hex(t), message_types), ','), ` +
    `arrayStringConcat(arrayMap(o -> toString(o), message_offsets), ',') ` +
    `FROM ${scope.store.database}.events PREWHERE (message_type = ${t} OR has(message_types, ${t})) AND ${sessionSubquery(scope)}`
  );
}

const list = (s: string | null | undefined): string[] => (s ? s.split(',') : []);

/** The messages of `type` in one row of framesHoldingSql, cut out at the recorded offsets (frameMessages). */
export function messagesInRow(row: (string | null)[], type: string): RecordedMessage[] {
  const [sessionId, ts, hex, messageType, typesHex, offsets] = row;
  const bytes = Buffer.from(hex ?? '', 'hex');
  const frame = {
    messageType: messageType ?? '',
    messageTypes: list(typesHex).map((h) => Buffer.from(h, 'hex').toString('utf8')),
    offsets: list(offsets).map(Number),
    bytes,
  };
  return frameMessages(frame)
    .filter((m) => m.type === type)
    .map((m) => ({ sessionId: sessionId!, tsMicros: Number(ts), message: bytes.subarray(m.start, m.end) }));
}

/** Every recorded protocol message of `type` in the scope's sessions, wherever in a frame it stands. */
export async function recordedMessages(scope: SessionScope, type: string): Promise<RecordedMessage[]> {
  // Without FINAL (memory): a redelivered frame yields its messages twice; callers tolerate that.
  const r = await scope.store.query(framesHoldingSql(scope, type), { readonly: true, maxRows: 1_000_000 });
  return r.rows.flatMap((row) => messagesInRow(row, type));
}

/**
 * The backend pid of a BackendKeyData message ('K', length, pid, secret key: 4 bytes, or up to
 * 256 in protocol 3.2), or undefined when the bytes are not one: a malformed recording then
 * leaves its backend unowned, which the check reports, instead of inventing an owner.
 */
export function backendPid(message: Buffer): number | undefined {
  if (message.length < 13 || message[0] !== 0x4b || message.readInt32BE(1) !== message.length - 1) return undefined;
  return message.readInt32BE(5);
}
