import { BoundedMap, deepFreeze } from '../shared-state.js';
import { sqlShape } from './sql-shape.js';
import type { SqlParse, SqlStatement } from './types.js';

/** Entries per cache; the oldest goes when full (a Map keeps insertion order). */
const MAX_ENTRIES = 4096;
/** Longer strings are parsed every time (they rarely repeat, and would hold memory). */
const MAX_CACHED_TEXT = 8192;

/** By exact text: extended-protocol Parse and repeated simple queries. */
const byText = new BoundedMap<string, SqlParse>(MAX_ENTRIES);
/** By shape, for one-statement strings: the statement's analysis without its text. */
const byShape = new BoundedMap<string, Omit<SqlStatement, 'text'> | null>(MAX_ENTRIES);

/** Drops every cached parse (tests). */
export function clearParseCache(): void {
  byText.clear();
  byShape.clear();
}

/**
 * The parse of `sql`, from a cache when the same text, or one of the same shape, was parsed
 * before. `parse` is the real parser; it reports whether its result is one statement spanning
 * the whole string, the only case a shape may stand for: then the statement's text is the
 * string without its trailing semicolons, trimmed, as the parser cuts it.
 */
export function cachedParse(sql: string, parse: (sql: string) => { parse: SqlParse; whole: boolean }): SqlParse {
  if (sql.length > MAX_CACHED_TEXT) return parse(sql).parse;
  const hit = byText.get(sql);
  if (hit) return hit;
  const shape = sqlShape(sql);
  let result: SqlParse | undefined;
  if (shape !== undefined) {
    let analysis = byShape.get(shape);
    if (analysis === undefined) {
      const p = parse(shape);
      analysis = p.whole && p.parse.error === undefined ? withoutText(p.parse.statements[0]!) : null;
      byShape.set(shape, analysis);
    }
    if (analysis) result = { statements: [{ text: statementText(sql), ...analysis }] };
  }
  result = deepFreeze(result ?? parse(sql).parse);
  byText.set(sql, result);
  return result;
}

/** What the parser cuts out of a one-statement string: all but trailing semicolons, trimmed. */
function statementText(sql: string): string {
  let end = sql.length;
  for (;;) {
    const c = sql.charCodeAt(end - 1);
    if (c === 0x3b || c === 0x20 || (c >= 0x09 && c <= 0x0d)) end--;
    else break;
  }
  return sql.slice(0, end).trim();
}

function withoutText(s: SqlStatement): Omit<SqlStatement, 'text'> {
  const { text: _text, ...rest } = s;
  return deepFreeze(rest);
}
