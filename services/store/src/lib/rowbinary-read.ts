import { StoreError } from './errors.js';
import type { ColumnSpec } from './rows.js';

/**
 * RowBinary decoder for the column types in {@link ColumnSpec}, the inverse of rowbinary.ts:
 * reading events back as RowBinary instead of JSON spares the server hex-encoding the frames and
 * the client parsing twice their size as JSON text (a bulk session's page is ~16 MiB of frames).
 * Binary columns come back as views of the response buffer (no copy); UInt64 values are read as
 * two 32-bit halves, exact below 2^53 like everything the store writes.
 */
class Reader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new StoreError('CLICKHOUSE', `RowBinary result cut short at byte ${this.pos} of ${this.buf.length}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.buf.readUInt32LE(this.pos) + this.buf.readUInt32LE(this.pos + 4) * 0x1_0000_0000;
    this.pos += 8;
    return v;
  }

  varint(): number {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = this.u8();
      v += (b & 0x7f) * shift;
      if (b < 0x80) return v;
    }
  }

  bytes(): Buffer {
    const n = this.varint();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  text(): string {
    return this.bytes().toString('utf8');
  }
}

type Get = (r: Reader) => unknown;

function getter(c: ColumnSpec, binary: boolean): Get {
  switch (c.type) {
    case 'String':
      return binary ? (r) => r.bytes() : (r) => r.text();
    case 'UInt8':
      return (r) => r.u8();
    case 'UInt64':
      return (r) => r.u64();
    case 'DateTime':
      return (r) => r.u32();
    case 'Date':
      return (r) => r.u16();
    case 'Array(String)':
      return (r) => Array.from({ length: r.varint() }, () => r.text());
    case 'Array(UInt64)':
      return (r) => Array.from({ length: r.varint() }, () => r.u64());
    case 'Nullable(DateTime)':
      return (r) => (r.u8() === 1 ? null : r.u32());
  }
}

/**
 * Decodes a RowBinary result of `SELECT <columns, in this order>` into objects keyed by column
 * name; String columns named in `binary` become Buffers (views of `buf`), the others text.
 */
export function decodeRowBinary<R>(columns: readonly ColumnSpec[], buf: Buffer, binary: ReadonlySet<string> = new Set()): R[] {
  const get = columns.map((c) => [c.name, getter(c, binary.has(c.name))] as const);
  const r = new Reader(buf);
  const rows: R[] = [];
  while (!r.done) {
    const row: Record<string, unknown> = {};
    for (const [name, g] of get) row[name] = g(r);
    rows.push(row as R);
  }
  return rows;
}
