import type { Command, Decision, Frame, SessionEvent } from './types.js';

/**
 * A hand-written Avro binary writer for the events a gateway writes for every command and every
 * forwarded write (Frame, Command, Decision): the same bytes as avsc's encoder for the schema
 * (Avro binary is canonical: one encoding per value; writer.test.ts checks it against avsc for
 * random events), without building the wrapped-union object avsc needs or growing its buffer.
 * Other event types go through avsc (codec.ts).
 * @see https://avro.apache.org/docs/1.11.1/specification/#binary-encoding
 */

/** Union branch of each hot type in SessionEvent.body (schemas/avro/session-event.avsc). */
const BRANCH = { Frame: 1, Command: 2, Decision: 3 } as const;
const DIRECTION = { CLIENT_TO_SERVER: 0, SERVER_TO_CLIENT: 1 } as const;
const RESULT = { ALLOW: 0, DENY: 1, APPROVAL: 2, MASK: 3 } as const;

export type HotEvent = SessionEvent<Frame | Command | Decision>;

export function isHot(e: SessionEvent): e is HotEvent {
  const t = e.body.type;
  return t === 'Frame' || t === 'Command' || t === 'Decision';
}

/** Bytes of a zig-zag varint (Avro int and long) of a safe integer. */
export function longSize(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let len = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    len++;
  }
  return len;
}

const stringSize = (s: string): number => {
  const n = Buffer.byteLength(s);
  return longSize(n) + n;
};

function stringsSize(items: readonly string[]): number {
  if (items.length === 0) return 1;
  let size = longSize(items.length) + 1;
  for (const s of items) size += stringSize(s);
  return size;
}

/** Writes a zig-zag varint at `at`; returns where the next byte goes. */
export function writeLong(buf: Buffer, at: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 128) {
    buf[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[at++] = z;
  return at;
}

class Out {
  at = 0;
  constructor(readonly buf: Buffer) {}

  long(n: number): void {
    this.at = writeLong(this.buf, this.at, n);
  }

  string(s: string): void {
    // ASCII fast path: one byte per char; otherwise measure first.
    const n = Buffer.byteLength(s);
    this.long(n);
    this.at += this.buf.write(s, this.at, n, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.long(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** An Avro array of int or long (one block, then the end marker). */
  longs(items: readonly number[] | undefined): void {
    if (items && items.length > 0) {
      this.long(items.length);
      for (const x of items) this.long(x);
    }
    this.buf[this.at++] = 0;
  }

  strings(items: readonly string[]): void {
    if (items.length > 0) {
      this.long(items.length);
      for (const s of items) this.string(s);
    }
    this.buf[this.at++] = 0;
  }
}

function longsSize(items: readonly number[] | undefined): number {
  if (!items || items.length === 0) return 1;
  let size = longSize(items.length) + 1;
  for (const x of items) size += longSize(x);
  return size;
}

function headerSize(e: SessionEvent): number {
  return stringSize(e.sessionId) + longSize(e.seq) + longSize(e.tsMicros) + stringSize(e.nodeId) + longSize(e.prevHash.length) + e.prevHash.length + 1;
}

function frameSize(f: Frame): number {
  let size = 1 + stringSize(f.messageType) + longSize(f.bytes.length) + f.bytes.length + 1;
  size += f.masks.length > 0 ? longSize(f.masks.length) + 1 : 1;
  for (const m of f.masks) size += stringSize(m.detector) + stringSize(m.location) + longSize(m.count);
  size += stringsSize(f.messageTypes);
  size += longsSize(f.offsets);
  size += longsSize(f.commandIds) + longsSize(f.commandStarts);
  return size;
}

function commandSize(c: Command): number {
  let size = longSize(c.commandId) + stringSize(c.protocol) + stringSize(c.action) + stringsSize(c.targets) + stringSize(c.text);
  size += stringSize(c.textSha256) + stringSize(c.detailsJson);
  size += c.params.length > 0 ? longSize(c.params.length) + 1 : 1;
  for (const p of c.params) size += p === null ? 1 : 1 + stringSize(p);
  return size;
}

function decisionSize(d: Decision): number {
  return longSize(d.commandId) + 1 + stringsSize(d.reasons) + stringSize(d.policyRevision) + longSize(d.evalMicros) + stringSize(d.outputJson);
}

function writeFrame(o: Out, f: Frame): void {
  o.long(DIRECTION[f.direction]);
  o.string(f.messageType);
  o.bytes(f.bytes);
  o.buf[o.at++] = f.redacted ? 1 : 0;
  if (f.masks.length > 0) {
    o.long(f.masks.length);
    for (const m of f.masks) {
      o.string(m.detector);
      o.string(m.location);
      o.long(m.count);
    }
  }
  o.buf[o.at++] = 0;
  o.strings(f.messageTypes);
  o.longs(f.offsets);
  o.longs(f.commandIds);
  o.longs(f.commandStarts);
}

function writeCommand(o: Out, c: Command): void {
  o.long(c.commandId);
  o.string(c.protocol);
  o.string(c.action);
  o.strings(c.targets);
  o.string(c.text);
  o.string(c.textSha256);
  o.string(c.detailsJson);
  if (c.params.length > 0) {
    o.long(c.params.length);
    for (const p of c.params) {
      if (p === null) o.long(0);
      else {
        o.long(1);
        o.string(p);
      }
    }
  }
  o.buf[o.at++] = 0;
}

function writeDecision(o: Out, d: Decision): void {
  o.long(d.commandId);
  o.long(RESULT[d.result]);
  o.strings(d.reasons);
  o.string(d.policyRevision);
  o.long(d.evalMicros);
  o.string(d.outputJson);
}

/** The canonical Avro binary of a Frame, Command or Decision event. */
export function writeHotEvent(e: HotEvent): Buffer {
  const b = e.body;
  const bodySize = b.type === 'Frame' ? frameSize(b) : b.type === 'Command' ? commandSize(b) : decisionSize(b);
  const o = new Out(Buffer.allocUnsafe(headerSize(e) + bodySize));
  o.string(e.sessionId);
  o.long(e.seq);
  o.long(e.tsMicros);
  o.string(e.nodeId);
  o.bytes(e.prevHash);
  o.long(BRANCH[b.type]);
  if (b.type === 'Frame') writeFrame(o, b);
  else if (b.type === 'Command') writeCommand(o, b);
  else writeDecision(o, b);
  if (o.at !== o.buf.length) throw new Error(`event writer: wrote ${o.at} bytes, sized ${o.buf.length}`);
  return o.buf;
}
