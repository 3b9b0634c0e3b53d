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
