/** parseSql was called before initSqlParser resolved: a wiring bug, not a client error. */
export class SqlParserNotReadyError extends Error {
  readonly code = 'SQL_PARSER_NOT_READY';
  override name = 'SqlParserNotReadyError';
  constructor() {
    super('the SQL parser is not loaded; await initSqlParser() once at startup before calling parseSql');
  }
}
