import { decodeEventBody, frameMessages, type EventBody, type Frame } from '@chaperone/events';
import type { EventMsg } from '../proto.js';

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The full event body of a replayed event, decoded from its Avro; undefined when it does not decode. */
export function eventBody(e: Pick<EventMsg, 'avro'>): EventBody | undefined {
  try {
    return decodeEventBody(asBuffer(e.avro)).body;
  } catch {
    return undefined;
  }
}

/** One protocol message of a recorded Frame: its name and its bytes (a view, not a copy). */
export interface RecordedMessage {
  type: string;
  bytes: Buffer;
}

/**
 * Every protocol message a Frame holds, in order: several for a v2 frame (one forwarded write),
 * the whole frame for a v1 one. Renderers walk these, never `messageType` alone, so a session
 * reads the same however its writes were grouped into frames.
 */
export function recordedMessages(frame: Frame): RecordedMessage[] {
  const bytes = asBuffer(frame.bytes);
  return frameMessages(frame).map((m) => ({ type: m.type, bytes: bytes.subarray(m.start, m.end) }));
}

/** Messages whose text masking may rewrite (masking/postgres.ts in the gateway; HTTP bodies). */
const MASKABLE = new Set(['DataRow', 'ErrorResponse', 'NoticeResponse', 'CopyData', 'NotificationResponse', 'http.response.body', 'http.response.body.end']);

/**
 * Where a frame's masking notes belong: the first message masking could have touched (the notes
 * are summed over the frame, so a frame that ends one result and starts the next gives them all
 * to the first). -1 when none could: the notes are then counted before the frame's messages.
 */
export function maskedAt(messages: readonly RecordedMessage[]): number {
  return messages.findIndex((m) => MASKABLE.has(m.type));
}
