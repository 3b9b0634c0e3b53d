/** A data-modifying operation inside a statement (top level, in a CTE, or under EXPLAIN ANALYZE). */
export interface SqlWrite {
  type: 'INSERT' | 'UPDATE' | 'DELETE' | 'MERGE';
  /** The target table, schema-qualified when the statement qualifies it. */
  table: string;
  /** null for INSERT/MERGE, where a WHERE clause does not limit the rows touched. */
  hasWhere: boolean | null;
}

/** One SQL statement as the policy sees it. */
export interface SqlStatement {
  /** The statement's own text (a multi-statement string is split), trimmed. */
  text: string;
  /** SELECT, INSERT, UPDATE, DELETE, MERGE, DROP TABLE, TRUNCATE, ALTER TABLE, CREATE TABLE, BEGIN, COPY, SET, … */
  type: string;
  /** Every relation the statement names (CTE names excluded), schema-qualified when given, in order of appearance. */
  tables: string[];
  /**
   * For SELECT/UPDATE/DELETE: whether a WHERE clause restricts the rows. A WHERE that references
   * no column at all (`WHERE true`, `WHERE 1=1`) restricts nothing and counts as false. null for
   * statements a WHERE does not apply to.
   */
  hasWhere: boolean | null;
  /** Functions called, as written (schema-qualified when given), deduplicated: pg_sleep, pg_catalog.set_config, … */
  functions: string[];
  /** Every INSERT/UPDATE/DELETE/MERGE the statement performs, including data-modifying CTEs. */
  writes: SqlWrite[];
}

/** The result of parsing one client SQL string; `error` set (and no statements) when it does not parse. */
export interface SqlParse {
  statements: SqlStatement[];
  error?: string;
}
