/**
 * SQL literal helpers. ClickHouse 18.16 has no query parameters, so values are inlined as
 * escaped literals; these are the only functions that may put caller input into SQL.
 */

/** A ClickHouse string literal: backslash and quote escaped (the server unescapes both). */
export function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An unsigned integer literal; throws on anything else so a bad value never reaches SQL. */
export function uint(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`not an unsigned integer: ${value}`);
  return String(value);
}

/** An identifier (database or table name) made only of safe characters. */
export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`not a plain identifier: ${name}`);
  return name;
}
