/**
 * PostgreSQL frontend/backend messages for fixtures (protocol docs, "Message Formats"): each is
 * a type byte, an Int32 length that counts itself, then the body. Serializers only.
 */
const enum Code {
  Query = 0x51, // 'Q'
  RowDescription = 0x54, // 'T'
  DataRow = 0x44, // 'D'
  CommandComplete = 0x43, // 'C'
  ErrorResponse = 0x45, // 'E'
  ReadyForQuery = 0x5a, // 'Z'
}

function message(code: Code, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = code;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

export const pgQuery = (sql: string): Buffer => message(Code.Query, cstr(sql));

/** Text-format columns of type text (OID 25). */
export function pgRowDescription(columns: readonly string[]): Buffer {
  const parts = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(columns.length);
  for (const name of columns) {
    const f = Buffer.alloc(18);
    f.writeInt32BE(0, 0); // table OID
    f.writeInt16BE(0, 4); // column attribute number
    f.writeInt32BE(25, 6); // type OID: text
    f.writeInt16BE(-1, 10); // type size: variable
    f.writeInt32BE(-1, 12); // type modifier
    f.writeInt16BE(0, 16); // format: text
    parts.push(cstr(name), f);
  }
  return message(Code.RowDescription, Buffer.concat(parts));
}

export function pgDataRow(values: readonly (string | null)[]): Buffer {
  const parts = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(values.length);
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1);
      parts.push(len);
    } else {
      const b = Buffer.from(v, 'utf8');
      len.writeInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return message(Code.DataRow, Buffer.concat(parts));
}

export const pgCommandComplete = (tag: string): Buffer => message(Code.CommandComplete, cstr(tag));

export function pgErrorResponse(sqlstate: string, text: string): Buffer {
  return message(Code.ErrorResponse, Buffer.concat([Buffer.from('S'), cstr('ERROR'), Buffer.from('C'), cstr(sqlstate), Buffer.from('M'), cstr(text), Buffer.from([0])]));
}

export const pgReadyForQuery = (): Buffer => message(Code.ReadyForQuery, Buffer.from('I'));
