import type { ColumnSpec } from './rows.js';

/**
 * RowBinary encoder for the column types in {@link ColumnSpec}. RowBinary is the one input
 * format that carries arbitrary bytes in String columns unchanged (JSON cannot: its strings are
 * Unicode), and ClickHouse 18.16 already reads it. Little-endian, strings length-prefixed with
 * an unsigned LEB128 varint (ClickHouse docs, "RowBinary").
 *
 * This is the materializer's hot path (every event is a row): strings are written straight into
 * the output buffer (no Buffer per value) and 64-bit integers as two 32-bit halves (no BigInt).
 */
class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, sizeHint));
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u32(v: number): void {
    this.reserve(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  /** A safe integer (< 2^53) as UInt64: the low and the high 32 bits. */
  u64(v: number): void {
    this.reserve(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  varint(v: number): void {
    this.reserve(10);
    let n = v;
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function text(w: Writer, v: unknown, column: string): void {
  if (typeof v === 'string') return w.string(v);
  if (v instanceof Uint8Array) return w.bytes(v);
  if (v === null || v === undefined) return w.u8(0);
  throw new TypeError(`column ${column}: expected a string or Buffer, got ${typeof v}`);
}

function num(v: unknown, column: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`column ${column}: expected an unsigned integer, got ${String(v)}`);
  return v;
}

type Put = (w: Writer, row: Record<string, unknown>) => void;

/**
 * One writer per column: each reads its own property, so every property access site sees a
 * single key and row shape (a shared loop over the column names makes them megamorphic).
 */
function putter(c: ColumnSpec): Put {
  const name = c.name;
  switch (c.type) {
    case 'String':
      return (w, r) => text(w, r[name], name);
    case 'UInt8':
      return (w, r) => w.u8(num(r[name], name));
    case 'UInt64':
      return (w, r) => w.u64(num(r[name], name));
    case 'DateTime':
      return (w, r) => w.u32(num(r[name], name));
    case 'Date':
      return (w, r) => w.u16(num(r[name], name));
    case 'Array(String)':
      return (w, r) => {
        const items = (r[name] ?? []) as unknown[];
        w.varint(items.length);
        for (const item of items) text(w, item, name);
      };
    case 'Array(UInt64)':
      return (w, r) => {
        const items = (r[name] ?? []) as unknown[];
        w.varint(items.length);
        for (const item of items) w.u64(num(item, name));
      };
    case 'Nullable(DateTime)':
      return (w, r) => {
        const v = r[name];
        if (v === null || v === undefined) return w.u8(1);
        w.u8(0);
        w.u32(num(v, name));
      };
  }
}

const putters = new WeakMap<readonly ColumnSpec[], Put[]>();

/**
 * Encodes rows (objects keyed by column name) in the order of `columns`. `bytesPerRow` sizes
 * the first buffer (it grows as needed).
 */
export function encodeRowBinary(columns: readonly ColumnSpec[], rows: readonly object[], bytesPerRow = 256): Buffer {
  let put = putters.get(columns);
  if (!put) putters.set(columns, (put = columns.map(putter)));
  const w = new Writer(rows.length * bytesPerRow);
  for (const row of rows) for (const p of put) p(w, row as Record<string, unknown>);
  return w.done();
}
