import { EventDecodeError } from './errors.js';
import { knownSchemas, writerFingerprint, writerType } from './schema.js';
import type { EventBody, SessionEvent } from './types.js';

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
  return { ...w, body: { type: name.slice(NS.length), ...fields } as unknown as EventBody };
}

/** The canonical Avro binary of an event (no header): what the hash chain covers. */
export function encodeEventBody(e: SessionEvent): Buffer {
  return writerType.toBuffer(toWire(e));
}

/** Avro single-object encoding: C3 01, CRC-64-AVRO fingerprint (LE), Avro binary. */
export function encodeEvent(e: SessionEvent): Buffer {
  return frameBody(encodeEventBody(e));
}

/** Prefixes already-encoded Avro binary with the single-object header. */
export function frameBody(body: Buffer): Buffer {
  return Buffer.concat([MAGIC, writerFingerprint, body]);
}

/** Splits a single-object message into its fingerprint and Avro binary, without decoding. */
export function splitSingleObject(buf: Buffer): { fingerprint: Buffer; body: Buffer } {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1])
    throw new EventDecodeError('BAD_MAGIC', 'not an Avro single-object encoded message');
  return { fingerprint: buf.subarray(2, HEADER_BYTES), body: buf.subarray(HEADER_BYTES) };
}

/**
 * Decodes a single-object message, resolving the writer's schema by fingerprint
 * (schema evolution without a registry server). Returns the event and its Avro binary.
 */
export function decodeEvent(buf: Buffer): { event: SessionEvent; body: Buffer } {
  const { fingerprint, body } = splitSingleObject(buf);
  const known = knownSchemas.get(fingerprint.toString('hex'));
  if (!known) throw new EventDecodeError('UNKNOWN_SCHEMA', `unknown writer schema fingerprint ${fingerprint.toString('hex')}`);
  try {
    const wire: unknown = known.resolver ? writerType.fromBuffer(body, known.resolver) : writerType.fromBuffer(body);
    return { event: fromWire(wire as Wire), body };
  } catch (err) {
    throw new EventDecodeError('MALFORMED', `cannot decode event: ${(err as Error).message}`);
  }
}

/** Decodes the plain Avro binary (as stored in ClickHouse) written with the current schema. */
export function decodeEventBody(body: Buffer): SessionEvent {
  try {
    return fromWire(writerType.fromBuffer(body) as Wire);
  } catch (err) {
    throw new EventDecodeError('MALFORMED', `cannot decode event: ${(err as Error).message}`);
  }
}
