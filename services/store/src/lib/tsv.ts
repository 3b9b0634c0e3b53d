import type { ColumnSpec, ColumnType } from './rows.js';
/**
 * TabSeparated value unescaping (ClickHouse docs, "TabSeparated": \b \f \r \n \t \0 \' \\ and
 * \N for NULL). Used for SOC SQL results because TabSeparatedWithNamesAndTypes streams on every
 * server version and keeps ClickHouse's own rendering of each value.
 */
const ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', "'": "'", '\\': '\\', '"': '"', a: '\x07', v: '\v' };

export function unescapeTsv(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const ch = field[i]!;
    if (ch !== '\\' || i === field.length - 1) {
      out += ch;
      continue;
    }
    const next = field[++i]!;
    out += ESCAPES[next] ?? `\\${next}`;
  }
  return out;
}

/** Splits one TSV line into its unescaped fields. */
export function splitTsvLine(line: string): (string | null)[] {
  return line.split('\t').map(unescapeTsv);
}

/**
 * TabSeparated encoding of rows for engines without a RowBinary input (chdb's insert takes text
 * formats only). Works on bytes, so String columns carry arbitrary binary unchanged: only the
 * backslash and the bytes that delimit fields and rows are escaped. Arrays use ClickHouse's
 * quoted literal form (`['a','b\'c']`), times are unix seconds and Dates ISO days (neither
 * depends on the engine's time zone).
 */
const TSV_ESCAPE: Record<number, string> = { 0x5c: '\\\\', 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x00: '\\0' };
const QUOTED_ESCAPE: Record<number, string> = { ...TSV_ESCAPE, 0x27: "\\'" };

function escapeBytes(b: Buffer, table: Record<number, string>): Buffer {
  let extra = 0;
  for (const byte of b) if (table[byte] !== undefined) extra++;
  if (extra === 0) return b;
  const out = Buffer.allocUnsafe(b.length + extra);
  let o = 0;
  for (const byte of b) {
    const esc = table[byte];
    if (esc === undefined) out[o++] = byte;
    else o += out.write(esc, o, 'latin1');
  }
  return out;
}

const scalar = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : '');
const asBytes = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(scalar(v), 'utf8'));

function tsvField(type: ColumnType, v: unknown): Buffer {
  switch (type) {
    case 'String':
      return escapeBytes(asBytes(v), TSV_ESCAPE);
    case 'Array(String)': {
      const parts = ((v ?? []) as unknown[]).map((item) => Buffer.concat([Buffer.from("'"), escapeBytes(asBytes(item), QUOTED_ESCAPE), Buffer.from("'")]));
      return Buffer.concat([Buffer.from('['), ...parts.flatMap((p, i) => (i ? [Buffer.from(','), p] : [p])), Buffer.from(']')]);
    }
    case 'Array(UInt64)':
      return Buffer.from(`[${((v ?? []) as unknown[]).map(scalar).join(',')}]`);
    case 'Date':
      return Buffer.from(new Date(Number(v ?? 0) * 86_400_000).toISOString().slice(0, 10));
    case 'Nullable(DateTime)':
      return Buffer.from(v === null || v === undefined ? '\\N' : scalar(v));
    default:
      return Buffer.from(scalar(v ?? 0));
  }
}

export function encodeTsv(columns: readonly ColumnSpec[], rows: readonly object[]): Buffer {
  const parts: Buffer[] = [];
  const tab = Buffer.from('\t');
  const nl = Buffer.from('\n');
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    columns.forEach((c, i) => {
      if (i) parts.push(tab);
      parts.push(tsvField(c.type, r[c.name]));
    });
    parts.push(nl);
  }
  return Buffer.concat(parts);
}
