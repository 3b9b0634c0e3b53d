/**
 * The shape of a SQL string: its text with every plain numeric and string literal replaced by a
 * fixed one of the same kind (`0`, `0.0`, `''`). Statements that differ only in their literal values
 * (`… WHERE aid = 12345`, `… WHERE aid = 678`) have one shape, and the parse analysis the policy
 * sees (statement type, tables, functions, writes, whether a WHERE restricts) does not depend on
 * literal values, so one parse serves them all (parse-cache.ts).
 *
 * Conservative by design: anything this small lexer does not fully understand — comments,
 * backslashes, dollar quoting, prefixed strings (E'', B'', X'', U&''), numbers glued to other
 * tokens — gives `undefined` and the string is parsed as it is. A shape never merges two strings
 * whose non-literal tokens differ: everything but the replaced literals is kept verbatim.
 * @see https://www.postgresql.org/docs/current/sql-syntax-lexical.html
 */
const MAX_SHAPE_INPUT = 8192;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** Characters that may continue an identifier or keyword (and so glue to a following token). */
const isIdent = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f || c === 0x24 || c > 0x7f;

/** Where a plain numeric literal starting at `i` ends, or -1 when it is not one this lexer takes. */
function numberEnd(sql: string, i: number): number {
  const n = sql.length;
  let j = i;
  while (j < n && isDigit(sql.charCodeAt(j))) j++;
  if (sql.charCodeAt(j) === 0x2e) {
    j++;
    while (j < n && isDigit(sql.charCodeAt(j))) j++;
  }
  const e = sql.charCodeAt(j);
  if (e === 0x65 || e === 0x45) {
    let k = j + 1;
    const sign = sql.charCodeAt(k);
    if (sign === 0x2b || sign === 0x2d) k++;
    if (!isDigit(sql.charCodeAt(k))) return -1;
    while (k < n && isDigit(sql.charCodeAt(k))) k++;
    j = k;
  }
  const next = sql.charCodeAt(j);
  // 0x1F, 1_000, 12abc, 1.2.3: not for this lexer.
  if (j < n && (isIdent(next) || next === 0x2e)) return -1;
  return j;
}

function isSmallInteger(sql: string, start: number, end: number): boolean {
  if (end - start > 9) return false;
  for (let i = start; i < end; i++) if (!isDigit(sql.charCodeAt(i))) return false;
  return true;
}

/** Where a standard string literal opening at `i` ends (after its closing quote), or -1. */
function stringEnd(sql: string, i: number): number {
  const n = sql.length;
  let j = i + 1;
  for (;;) {
    if (j >= n) return -1;
    const c = sql.charCodeAt(j);
    if (c === 0x5c) return -1; // backslash: its meaning depends on standard_conforming_strings
    if (c === 0x27) {
      if (sql.charCodeAt(j + 1) === 0x27) j += 2;
      else return j + 1;
    } else j++;
  }
}

/** Where a quoted identifier opening at `i` ends, or -1. Kept verbatim. */
function quotedIdentEnd(sql: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const close = sql.indexOf('"', j);
    if (close < 0) return -1;
    if (sql.charCodeAt(close + 1) === 0x22) j = close + 2;
    else return close + 1;
  }
}

/** The string's shape, or undefined when it has no literal to replace or is beyond this lexer. */
export function sqlShape(sql: string): string | undefined {
  if (sql.length > MAX_SHAPE_INPUT) return undefined;
  const n = sql.length;
  let out = '';
  let from = 0;
  let replaced = false;
  let prev = 0x20;
  for (let i = 0; i < n; ) {
    const c = sql.charCodeAt(i);
    if (c === 0x27) {
      if (isIdent(prev)) return undefined; // E'…', B'…', X'…', N'…', U&'…' and friends
      const end = stringEnd(sql, i);
      if (end < 0) return undefined;
      out += sql.slice(from, i) + "''";
      from = i = end;
      replaced = true;
      prev = 0x27;
    } else if (c === 0x22) {
      const end = quotedIdentEnd(sql, i);
      if (end < 0) return undefined;
      i = end;
      prev = 0x22;
    } else if (isDigit(c) && !isIdent(prev) && prev !== 0x2e) {
      const end = numberEnd(sql, i);
      if (end < 0) return undefined;
      // PostgreSQL's lexer makes an integer of up to 9 digits an ICONST and anything else a
      // FCONST, and some rules take only one of them: the placeholder keeps the kind.
      out += sql.slice(from, i) + (isSmallInteger(sql, i, end) ? '0' : '0.0');
      from = i = end;
      replaced = true;
      prev = 0x30;
    } else if (c === 0x5c || c === 0x24 || c === 0x26 || (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) || (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a)) {
      // backslash, $ (parameters, dollar quoting), & (U&), -- and /* comments
      return undefined;
    } else {
      prev = c;
      i++;
    }
  }
  return replaced ? out + sql.slice(from) : undefined;
}
