/**
 * Bounds-checked sequential reads over a message body. Every read that would run past the end
 * throws PgProtocolError('MALFORMED') instead of a RangeError, so decoders stay one-liners per
 * field and a hostile count can never make us read (or allocate) beyond the payload.
 */
import { malformed } from './errors.js';

export class Cursor {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    /** Message name for error messages. */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buf[this.pos++] ?? 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned int32, for OIDs (PostgreSQL's Oid is unsigned). */
  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A NUL-terminated string, decoded as UTF-8 (the gateway's client_encoding). */
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw malformed(`${this.what}: string without NUL terminator`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  /** `n` bytes as a zero-copy slice. */
  bytes(n: number): Buffer {
    this.need(n, 'bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** The rest of the body as a zero-copy slice. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** A count that must be >= 0 and whose items (each at least `minItemBytes`) fit in the rest. */
  count(raw: number, minItemBytes: number): number {
    if (raw < 0 || raw * minItemBytes > this.remaining) {
      throw malformed(`${this.what}: count ${raw} does not fit in ${this.remaining} remaining bytes`);
    }
    return raw;
  }

  /** An int32 length-prefixed value where -1 means NULL (Bind, DataRow, FunctionCall...). */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < -1) throw malformed(`${this.what}: negative value length ${len}`);
    return this.bytes(len);
  }

  /** n int16 values, e.g. format codes. */
  int16s(n: number): number[] {
    const out = new Array<number>(this.count(n, 2));
    for (let i = 0; i < n; i++) out[i] = this.int16();
    return out;
  }

  /** PostgreSQL rejects trailing bytes (pq_getmsgend), and so do we: they hide smuggled data. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw malformed(`${this.what}: ${this.remaining} unexpected trailing bytes`);
    }
  }

  private need(n: number, kind: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw malformed(`${this.what}: truncated (${kind} needs ${n} bytes, ${this.remaining} left)`);
    }
  }
}
