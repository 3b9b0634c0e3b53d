/**
 * Builds one message: fields are appended to a growing buffer after a reserved header, and
 * `frame()` fills in the type byte and length. Rejects what the wire cannot represent (a NUL
 * inside a C string would end it early and let the rest be read as further fields).
 */
import { malformed } from './errors.js';

export class Writer {
  private buf: Buffer;
  private pos: number;

  /** `code` 0 writes an untyped startup-phase packet (no type byte). */
  constructor(
    private readonly code: number,
    sizeHint = 64,
  ) {
    this.pos = code === 0 ? 4 : 5;
    this.buf = Buffer.allocUnsafe(Math.max(sizeHint, this.pos));
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw malformed(`int16 out of range: ${v}`);
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  /** Accepts signed or unsigned 32-bit integers (OIDs are unsigned, keys and pids signed). */
  int32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw malformed(`int32 out of range: ${v}`);
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
    return this;
  }

  cstring(s: string): this {
    if (s.includes('\0')) throw malformed('string contains a NUL byte');
    const len = Buffer.byteLength(s);
    this.ensure(len + 1);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  /** int32 length then bytes; null is written as length -1. */
  nullableBytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    return this.int32(b.length).bytes(b);
  }

  /** int16 count then that many int16 values (format codes). */
  int16s(values: readonly number[]): this {
    this.int16(values.length);
    for (const v of values) this.int16(v);
    return this;
  }

  /** Writes the header and returns the message (a view of exactly its bytes). */
  frame(): Buffer {
    if (this.pos > 0x7fffffff) throw malformed(`message of ${this.pos} bytes is too large for the protocol`);
    if (this.code === 0) {
      this.buf.writeInt32BE(this.pos, 0);
    } else {
      this.buf[0] = this.code;
      this.buf.writeInt32BE(this.pos - 1, 1);
    }
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** A message with no body, e.g. Sync or ParseComplete. */
export function emptyMessage(code: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = code;
  b.writeInt32BE(4, 1);
  return b;
}
