export { initSqlParser, parseSql } from './sql.js';
export { sqlCommand } from './command.js';
export { SqlParserNotReadyError } from './errors.js';
export type { SqlParse, SqlStatement, SqlWrite } from './types.js';
