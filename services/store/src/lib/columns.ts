import type { ColumnSpec } from './rows.js';

/**
 * SELECT list and row parsing for reading a table back as the same objects we insert: times as
 * integers, binary Strings via hex (JSON output cannot carry raw bytes), UInt64 (in arrays too)
 * from their quoted JSON form.
 */
export function selectList(columns: readonly ColumnSpec[], binary: ReadonlySet<string> = new Set()): string {
  return columns
    .map((c) => {
      if (binary.has(c.name)) return `hex(${c.name}) AS ${c.name}`;
      if (c.type === 'DateTime' || c.type === 'Nullable(DateTime)') return `toUInt32(${c.name}) AS ${c.name}`;
      if (c.type === 'Date') return `toUInt16(${c.name}) AS ${c.name}`;
      return c.name;
    })
    .join(', ');
}

export function parseRow<R>(columns: readonly ColumnSpec[], raw: Record<string, unknown>, binary: ReadonlySet<string> = new Set()): R {
  const out: Record<string, unknown> = {};
  const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));
  for (const c of columns) {
    const v = raw[c.name];
    if (binary.has(c.name)) out[c.name] = Buffer.from(text(v), 'hex');
    else if (c.type === 'String') out[c.name] = text(v);
    else if (c.type === 'Array(String)') out[c.name] = Array.isArray(v) ? v.map(String) : [];
    else if (c.type === 'Array(UInt64)') out[c.name] = Array.isArray(v) ? v.map(Number) : [];
    else if (v === null || v === undefined) out[c.name] = null;
    else out[c.name] = Number(v);
  }
  return out as R;
}
