import type { ColumnSpec } from './rows.js';

/**
 * RowBinary encoder for the column types in {@link ColumnSpec}. RowBinary is the one input
 * format that carries arbitrary bytes in String columns unchanged (JSON cannot: its strings are
 * Unicode), and ClickHouse 18.16 already reads it. Little-endian, strings length-prefixed with
 * an unsigned LEB128 varint (ClickHouse docs, "RowBinary").
 */
class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

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

  u64(v: number): void {
    this.reserve(8);
    this.pos = this.buf.writeBigUInt64LE(BigInt(v), this.pos);
  }

  varint(v: number): void {
    let n = v;
    while (n >= 0x80) {
      this.u8((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.u8(n);
  }

  bytes(b: Buffer): void {
    this.varint(b.length);
    this.reserve(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function toBytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new TypeError(`expected a string or Buffer, got ${typeof v}`);
}

function num(v: unknown, column: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`column ${column}: expected an unsigned integer, got ${String(v)}`);
  return v;
}

function writeValue(w: Writer, c: ColumnSpec, v: unknown): void {
  switch (c.type) {
    case 'String':
      return w.bytes(toBytes(v ?? ''));
    case 'UInt8':
      return w.u8(num(v, c.name));
    case 'UInt64':
      return w.u64(num(v, c.name));
    case 'DateTime':
      return w.u32(num(v, c.name));
    case 'Date':
      return w.u16(num(v, c.name));
    case 'Array(String)': {
      const items = (v ?? []) as unknown[];
      w.varint(items.length);
      for (const item of items) w.bytes(toBytes(item));
      return;
    }
    case 'Nullable(DateTime)':
      if (v === null || v === undefined) return w.u8(1);
      w.u8(0);
      return w.u32(num(v, c.name));
  }
}

/** Encodes rows (objects keyed by column name) in the order of `columns`. */
export function encodeRowBinary(columns: readonly ColumnSpec[], rows: readonly object[]): Buffer {
  const w = new Writer();
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    for (const c of columns) writeValue(w, c, r[c.name]);
  }
  return w.done();
}
