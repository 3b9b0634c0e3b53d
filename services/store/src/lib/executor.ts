import type { ColumnSpec } from './rows.js';
import type { QueryResult } from './types.js';

/**
 * The few operations the store needs from a ClickHouse engine. Two implementations: the HTTP
 * server (clickhouse.ts, via @clickhouse/client) and, where installed, the embedded chdb engine.
 * Internal statements name tables with their database (`db.events`); only `text` (SOC SQL) runs
 * with the database as the default, so analysts write `FROM events`.
 */
export interface Executor {
  /** The store's database. */
  readonly database: string;
  /** Where the engine is, for messages (`ClickHouse at http://…`). */
  readonly describe: string;
  /** A statement without a result (DDL, OPTIMIZE); with inDatabase, unqualified names resolve in the store's database. */
  command(sql: string, opts?: { inDatabase?: boolean }): Promise<void>;
  /** A SELECT whose rows come back as objects (JSONEachRow: 64-bit integers arrive as strings). */
  select<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * A SELECT's rows as RowBinary (decodeRowBinary reads them): raw bytes both ways, for reading
   * frames back. The whole result is in memory, so keep it to a bounded range.
   */
  selectBinary(sql: string): Promise<Buffer>;
  /** Inserts rows (objects keyed by column name) into `database.table`. */
  insert(table: string, columns: readonly ColumnSpec[], rows: readonly object[]): Promise<void>;
  /** Runs caller SQL read-only, returning at most maxRows rows as ClickHouse renders them. */
  text(sql: string, opts: { maxRows: number }): Promise<QueryResult>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
