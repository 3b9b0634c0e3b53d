/**
 * @module @chaperone/store
 * The ClickHouse recording store: migrations for schemas/clickhouse, the projection of session
 * events into the `events`, `commands` and `sessions` tables, and the SOC's reads: sessions,
 * events for replay, read-only SQL, and chain + seal verification.
 * Fixtures for other packages' tests are in `@chaperone/store/testing`.
 */
export { createStore, storeOn } from './lib/store.js';
export type { Store, InsertReport } from './lib/store.js';
export type { RangeOptions } from './lib/pages.js';
export type { ClickHouseConfig } from './lib/clickhouse.js';
export { createHttpExecutor } from './lib/clickhouse.js';
export type { Executor } from './lib/executor.js';
export { createChdbExecutor } from './lib/chdb.js';
export type { ChdbOptions } from './lib/chdb.js';
export { migrate, loadMigrations, splitStatements } from './lib/migrate.js';
export type { Migration, MigrationReport } from './lib/migrate.js';
export { applyRetention, expiredPartitions } from './lib/retention.js';
export type { RetentionDays, RetentionReport } from './lib/retention.js';
export { toRows, toEventRow, EVENT_COLUMNS, COMMAND_COLUMNS, SESSION_COLUMNS } from './lib/rows.js';
export type { EventRow, CommandRow, SessionRow, ProjectedRows, RowUpdate, ColumnSpec, ColumnType } from './lib/rows.js';
export { ChainVerifier } from './lib/verify.js';
export type { VerifyContext } from './lib/verify.js';
export { signIncompleteSeal, verifyIncompleteSeal } from './lib/seal.js';
export { IDLE_REASON } from './lib/sealing.js';
export type { IdleSession } from './lib/sealing.js';
export { DENIED_TEXT, MAX_BUCKETS } from './lib/dashboard.js';
export type { DashboardRange, DashboardStats, DashboardBucket, DashboardTotals, DashboardIdentity, DashboardDenied } from './lib/dashboard.js';
export { StoreError, SessionNotFoundError } from './lib/errors.js';
export type { StoreErrorCode } from './lib/errors.js';
export type * from './lib/types.js';
