import { EventDecodeError } from './errors.js';
import { batchFingerprint, batchType, knownSchemas, writerFingerprint, writerType, type KnownSchema } from './schema.js';
import type { EventBody, Frame, FrameMessage, SessionEvent } from './types.js';
import { isHot, longSize, writeHotEvent, writeLong } from './writer.js';
import { errorMessage } from '@chaperone/observability';

const NS = 'dev.chaperone.events.v1.';
/** Avro single-object encoding marker (spec: "Single-object encoding"). */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_BYTES = 10;

type Wire = Omit<SessionEvent, 'body'> & { body: Record<string, Record<string, unknown>> };

function toWire(e: SessionEvent): Wire {
  const { type, ...fields } = e.body;
  return { ...e, body: { [NS + type]: fields } };
}

function fromWire(w: Wire): SessionEvent {
  const [name, fields] = Object.entries(w.body)[0]!;
  const type = name.slice(NS.length);
  if (type === 'Frame' && (fields.commandIds as unknown[]).length === 0) {
    // A frame not attributed (v3's optional fields) reads as it was built: without them.
    const { commandIds: _, commandStarts: __, ...rest } = fields;
    return { ...w, body: { type, ...rest } as unknown as EventBody };
  }
  return { ...w, body: { type, ...fields } as unknown as EventBody };
}

/** The Avro binary as avsc writes it (writer.test.ts compares the hand-written writer with it). */
export function encodeWithAvsc(e: SessionEvent): Buffer {
  return writerType.toBuffer(toWire(e));
}

/** The canonical Avro binary of an event (no header): what the hash chain covers. */
export function encodeEventBody(e: SessionEvent): Buffer {
  return isHot(e) ? writeHotEvent(e) : writerType.toBuffer(toWire(e));
}

/** Avro single-object encoding of one event: C3 01, CRC-64-AVRO fingerprint (LE), Avro binary. */
export function encodeEvent(e: SessionEvent): Buffer {
  return frameBody(encodeEventBody(e));
}

/** Prefixes already-encoded event Avro binary with the single-object header. */
export function frameBody(body: Buffer): Buffer {
  return Buffer.concat([MAGIC, writerFingerprint, body]);
}

/**
 * One Kafka record's value: a SessionEventBatch (schemas/avro/session-event-batch.avsc) in
 * single-object encoding, holding the canonical Avro binary of consecutive events of one session.
 * Written by hand in one allocation: it runs for every publish of every session.
 */
export function encodeRecord(bodies: readonly Buffer[]): Buffer {
  let size = HEADER_BYTES + 8 + 1;
  if (bodies.length > 0) size += longSize(bodies.length);
  for (const b of bodies) size += longSize(b.length) + b.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  batchFingerprint.copy(out, 2);
  writerFingerprint.copy(out, HEADER_BYTES);
  let at = HEADER_BYTES + 8;
  if (bodies.length > 0) {
    at = writeLong(out, at, bodies.length);
    for (const b of bodies) {
      at = writeLong(out, at, b.length);
      at += b.copy(out, at);
    }
  }
  out[at] = 0; // end of the array's blocks
  return out;
}

/** Splits a single-object message into its fingerprint and Avro binary, without decoding. */
export function splitSingleObject(buf: Buffer): { fingerprint: Buffer; body: Buffer } {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1])
    throw new EventDecodeError('BAD_MAGIC', 'not an Avro single-object encoded message');
  return { fingerprint: buf.subarray(2, HEADER_BYTES), body: buf.subarray(HEADER_BYTES) };
}

function known(fingerprint: Buffer): KnownSchema {
  const k = knownSchemas.get(fingerprint.toString('hex'));
  if (!k) throw new EventDecodeError('UNKNOWN_SCHEMA', `unknown writer schema fingerprint ${fingerprint.toString('hex')}`);
  return k;
}

function readBody(body: Buffer, writer: KnownSchema): SessionEvent {
  try {
    const wire: unknown = writer.resolver ? writerType.fromBuffer(body, writer.resolver) : writerType.fromBuffer(body);
    return fromWire(wire as Wire);
  } catch (err) {
    throw new EventDecodeError('MALFORMED', `cannot decode event: ${errorMessage(err)}`);
  }
}

/**
 * Decodes a single-object message holding one event, resolving the writer's schema by
 * fingerprint (schema evolution without a registry server). Returns the event and its Avro binary.
 */
export function decodeEvent(buf: Buffer): { event: SessionEvent; body: Buffer } {
  const { fingerprint, body } = splitSingleObject(buf);
  return { event: readBody(body, known(fingerprint)), body };
}

/**
 * Decodes one Kafka record's value: a SessionEventBatch (one publish of one session), or a
 * single event as records were written before batches. Events come in the record's order, each
 * with its canonical Avro binary (what the hash chain covers).
 */
export function decodeRecord(buf: Buffer): { event: SessionEvent; body: Buffer }[] {
  const { fingerprint, body } = splitSingleObject(buf);
  if (!fingerprint.equals(batchFingerprint)) return [{ event: readBody(body, known(fingerprint)), body }];
  let batch: { eventSchema: Buffer; events: Buffer[] };
  try {
    batch = batchType.fromBuffer(body) as typeof batch;
  } catch (err) {
    throw new EventDecodeError('MALFORMED', `cannot decode event batch: ${errorMessage(err)}`);
  }
  const writer = known(batch.eventSchema);
  return batch.events.map((b) => ({ event: readBody(b, writer), body: b }));
}

/**
 * Decodes the plain Avro binary of an event (as stored in ClickHouse, without its writer's
 * fingerprint). Tries the current schema, then the earlier ones, newest first, and takes the first
 * that reads the bytes exactly: a version only ever appends fields with defaults to the last branch
 * of `body`, so an older event is always too short for a newer schema and a newer one leaves bytes
 * over for an older schema (codec.test.ts shows both).
 */
export function decodeEventBody(body: Buffer): SessionEvent {
  let first: Error | undefined;
  for (const writer of knownSchemas.values()) {
    try {
      return readBody(body, writer);
    } catch (err) {
      first ??= err as Error;
    }
  }
  throw first ?? new EventDecodeError('MALFORMED', 'cannot decode event');
}

/** The protocol messages in a Frame's bytes: one per messageTypes entry, or the whole frame for v1 events. */
export function frameMessages(frame: Pick<Frame, 'messageType' | 'messageTypes' | 'offsets' | 'bytes'>): FrameMessage[] {
  const n = frame.messageTypes.length;
  if (n === 0) return [{ type: frame.messageType, start: 0, end: frame.bytes.length }];
  const out = new Array<FrameMessage>(n);
  for (let i = 0; i < n; i++) out[i] = { type: frame.messageTypes[i]!, start: frame.offsets[i] ?? 0, end: i + 1 < n ? frame.offsets[i + 1]! : frame.bytes.length };
  return out;
}

/**
 * The command of each protocol message of a Frame (0: none), from its runs (`commandIds`,
 * `commandStarts`); every message 0 when the frame is not attributed (events before v3).
 */
export function frameMessageCommands(frame: Pick<Frame, 'messageTypes' | 'commandIds' | 'commandStarts'>): number[] {
  const n = Math.max(1, frame.messageTypes.length);
  const out = new Array<number>(n).fill(0);
  const ids = frame.commandIds ?? [];
  const starts = frame.commandStarts ?? [];
  for (let r = 0; r < ids.length; r++) {
    const end = Math.min(n, r + 1 < ids.length ? (starts[r + 1] ?? n) : n);
    for (let i = Math.max(0, starts[r] ?? 0); i < end; i++) out[i] = ids[r]!;
  }
  return out;
}

/** A Frame of one protocol message (a head, a body chunk, a marker); `commandId` when it belongs to a command. */
export function singleFrame(
  direction: Frame['direction'], messageType: string, bytes: Buffer, extra: { redacted?: boolean; masks?: Frame['masks']; commandId?: number } = {},
): Frame {
  const f: Frame = { type: 'Frame', direction, messageType, bytes, redacted: extra.redacted ?? false, masks: extra.masks ?? [], messageTypes: [messageType], offsets: [0] };
  if (extra.commandId) {
    f.commandIds = [extra.commandId];
    f.commandStarts = [0];
  }
  return f;
}

/**
 * A Frame of several protocol messages of one direction, as the gateway records one forwarded
 * write: the messages' bytes back to back, with each one's type and offset (fixtures, benchmarks;
 * the gateway builds its frames incrementally with its FrameBuilder).
 */
export function messagesFrame(direction: Frame['direction'], messages: readonly (readonly [type: string, bytes: Buffer])[]): Frame {
  const messageTypes: string[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (const [type, bytes] of messages) {
    messageTypes.push(type);
    offsets.push(at);
    at += bytes.length;
  }
  return {
    type: 'Frame', direction, messageType: messageTypes[0] ?? '', bytes: Buffer.concat(messages.map(([, b]) => b)), redacted: false, masks: [], messageTypes, offsets,
  };
}
