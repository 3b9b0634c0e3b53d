import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { analyzeStatement } from './sql-analyze.js';
import { SqlParserNotReadyError } from './errors.js';
import type { SqlParse } from './types.js';

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
 * Parses a client SQL string with the real PostgreSQL 17 grammar, synchronously (hot path).
 * SQL that does not parse is a value, not an exception: `{ statements: [], error }`, and the
 * policy decides what to do with it.
 */
export function parseSql(sql: string): SqlParse {
  if (!ready) throw new SqlParserNotReadyError();
  // PostgreSQL answers an empty query with EmptyQueryResponse; libpg-query's wrapper refuses it.
  if (sql.trim() === '') return { statements: [] };
  let stmts: RawStmt[];
  try {
    stmts = (parseSync(sql) as { stmts?: RawStmt[] }).stmts ?? [];
  } catch (err) {
    return { statements: [], error: describeError(err) };
  }
  try {
    // stmt_location/stmt_len are byte offsets into the UTF-8 text.
    const bytes = Buffer.from(sql, 'utf8');
    const statements = stmts.map((s) => {
      const start = s.stmt_location ?? 0;
      const end = s.stmt_len ? start + s.stmt_len : bytes.length;
      return analyzeStatement(s.stmt ?? {}, bytes.subarray(start, end).toString('utf8').trim());
    });
    return { statements };
  } catch (err) {
    // A tree too deep to walk must not crash the session; the policy sees it as unparseable.
    return { statements: [], error: `cannot analyse the statement: ${(err as Error).message}` };
  }
}

function describeError(err: unknown): string {
  if (hasSqlDetails(err)) return `${err.sqlDetails.message} (at character ${err.sqlDetails.cursorPosition + 1})`;
  return err instanceof Error ? err.message : String(err);
}
