/**
 * Just enough of the PostgreSQL backend protocol to show recorded results as text (protocol
 * docs, "Message Formats"). Input is one complete recorded message: type byte, Int32 length,
 * body. Values are shown in their text form; binary-format columns come out as hex. A malformed
 * message yields undefined, never an exception: a transcript must render whatever was recorded.
 */
const enum Code {
  RowDescription = 0x54, // 'T'
  DataRow = 0x44, // 'D'
  CommandComplete = 0x43, // 'C'
  ErrorResponse = 0x45, // 'E'
  Query = 0x51, // 'Q'
}

class Reader {
  pos = 5;
  constructor(readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new RangeError('unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated');
    this.pos += n;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function parse<T>(buf: Buffer, code: Code, body: (r: Reader) => T): T | undefined {
  if (buf.length < 5 || buf[0] !== code) return undefined;
  try {
    return body(new Reader(buf));
  } catch {
    return undefined;
  }
}

export interface PgField {
  name: string;
  /** 0 text, 1 binary. */
  format: number;
}

export const rowDescription = (buf: Buffer): PgField[] | undefined =>
  parse(buf, Code.RowDescription, (r) => {
    const n = r.int16();
    const fields: PgField[] = [];
    for (let i = 0; i < n; i++) {
      const name = r.cstring();
      r.bytes(16); // table OID, attribute number, type OID, type size, type modifier
      fields.push({ name, format: r.int16() });
    }
    return fields;
  });

export const dataRow = (buf: Buffer, fields?: readonly PgField[]): (string | null)[] | undefined =>
  parse(buf, Code.DataRow, (r) => {
    const n = r.int16();
    const values: (string | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      if (len < 0) values.push(null);
      else {
        const b = r.bytes(len);
        values.push(fields?.[i]?.format === 1 ? `\\x${b.toString('hex')}` : b.toString('utf8'));
      }
    }
    return values;
  });

/** Whether a DataRow is well formed, without decoding its values (rows past those shown are only counted). */
export const isDataRow = (buf: Buffer): boolean =>
  parse(buf, Code.DataRow, (r) => {
    const n = r.int16();
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      if (len > 0) r.skip(len);
    }
    return true;
  }) === true;

export const commandComplete = (buf: Buffer): string | undefined => parse(buf, Code.CommandComplete, (r) => r.cstring());

export const query = (buf: Buffer): string | undefined => parse(buf, Code.Query, (r) => r.cstring());

export interface PgError {
  severity: string;
  code: string;
  message: string;
  detail?: string;
}

export const errorResponse = (buf: Buffer): PgError | undefined =>
  parse(buf, Code.ErrorResponse, (r) => {
    const f: Record<string, string> = {};
    for (let type = r.bytes(1)[0]; type !== 0; type = r.bytes(1)[0]) f[String.fromCharCode(type!)] = r.cstring();
    return { severity: f.S ?? 'ERROR', code: f.C ?? '', message: f.M ?? '', ...(f.D ? { detail: f.D } : {}) };
  });
