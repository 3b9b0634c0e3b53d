import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { analyzeStatement } from './sql-analyze.js';
import { SqlParserNotReadyError } from './errors.js';
import { cachedParse } from './parse-cache.js';
import type { SqlParse } from './types.js';
import { errorMessage } from '@chaperone/observability';

let ready = false;
let loading: Promise<void> | undefined;

/** Loads PostgreSQL's own parser (libpg_query compiled to Wasm) once; call at startup. */
export function initSqlParser(): Promise<void> {
  loading ??= loadModule().then(() => {
    ready = true;
  });
  return loading;
}

interface RawStmt {
  stmt?: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

/**
 * A parse and whether it is one statement spanning the whole string: its text is then the string
 * without its trailing semicolons, trimmed.
 */
export interface RawParse {
  parse: SqlParse;
  whole: boolean;
}

/** The parser without the cache (tests compare the two). */
export function parseUncached(sql: string): RawParse {
  let stmts: RawStmt[];
  try {
    stmts = (parseSync(sql) as { stmts?: RawStmt[] }).stmts ?? [];
  } catch (err) {
    return { parse: { statements: [], error: describeError(err) }, whole: false };
  }
  try {
    // stmt_location/stmt_len are byte offsets into the UTF-8 text.
    const bytes = Buffer.from(sql, 'utf8');
    const statements = stmts.map((s) => {
      const start = s.stmt_location ?? 0;
      const end = s.stmt_len ? start + s.stmt_len : bytes.length;
      return analyzeStatement(s.stmt ?? {}, bytes.subarray(start, end).toString('utf8').trim());
    });
    return { parse: { statements }, whole: stmts.length === 1 && spansWhole(stmts[0]!, bytes) };
  } catch (err) {
    // A tree too deep to walk must not crash the session; the policy sees it as unparseable.
    return { parse: { statements: [], error: `cannot analyse the statement: ${errorMessage(err)}` }, whole: false };
  }
}

/**
 * Parses a client SQL string with the real PostgreSQL 17 grammar, synchronously (hot path).
 * SQL that does not parse is a value, not an exception: `{ statements: [], error }`, and the
 * policy decides what to do with it. Parses are cached (parse-cache.ts): by exact text, and for
 * one-statement strings by their shape (literals replaced), since a session mostly repeats a few
 * statements with other values. The result is frozen and shared: never change it.
 */
export function parseSql(sql: string): SqlParse {
  if (!ready) throw new SqlParserNotReadyError();
  // PostgreSQL answers an empty query with EmptyQueryResponse; libpg-query's wrapper refuses it.
  if (sql.trim() === '') return { statements: [] };
  return cachedParse(sql, parseUncached);
}

/** One statement from the start, with nothing after it but blanks and semicolons. */
function spansWhole(s: RawStmt, bytes: Buffer): boolean {
  if (s.stmt_location) return false;
  for (let i = s.stmt_len || bytes.length; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c !== 0x3b && c !== 0x20 && (c < 0x09 || c > 0x0d)) return false;
  }
  return true;
}

function describeError(err: unknown): string {
  if (hasSqlDetails(err)) return `${err.sqlDetails.message} (at character ${err.sqlDetails.cursorPosition + 1})`;
  return errorMessage(err);
}
