import type { PolicyCommand } from '../policy/types.js';
import { parseSql } from './sql.js';

/**
 * Builds the policy's `command` for one PostgreSQL query string: the parsed statements, the
 * action (the statement type, MULTI for several, UNPARSEABLE, EMPTY) and every table touched.
 */
export function sqlCommand(text: string): PolicyCommand {
  const sql = parseSql(text);
  const types = sql.statements.map((s) => s.type);
  const action = sql.error !== undefined ? 'UNPARSEABLE' : types.length === 0 ? 'EMPTY' : types.length === 1 ? types[0]! : 'MULTI';
  const targets = [...new Set(sql.statements.flatMap((s) => s.tables))];
  return { protocol: 'postgres', action, text, targets, sql };
}
