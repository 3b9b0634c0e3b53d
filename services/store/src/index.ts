/**
 * @module @chaperone/store
 * The ClickHouse recording store: migrations for schemas/clickhouse, the projection of session
 * events into the `events`, `commands` and `sessions` tables, and the SOC's reads: sessions,
 * events for replay, read-only SQL, and chain + seal verification.
 * Fixtures for other packages' tests are in `@chaperone/store/testing`.
 */
// Values other packages use; the rest (migrations, row projection, verifier, executors for chdb) stays internal.
export { createStore } from './lib/store.js';
export { createHttpExecutor } from './lib/clickhouse.js';
export { signIncompleteSeal } from './lib/seal.js';
export { IDLE_REASON } from './lib/sealing.js';
export { toEventRow } from './lib/rows.js';
export { StoreError, SessionNotFoundError } from './lib/errors.js';
// Types: what callers use, and what the Store interface's signatures name.
export type { Store, InsertReport } from './lib/store.js';
export type { RangeOptions } from './lib/pages.js';
export type { ClickHouseConfig } from './lib/clickhouse.js';
export type { Executor } from './lib/executor.js';
export type { MigrationReport } from './lib/migrate.js';
export type { RetentionDays, RetentionReport } from './lib/retention.js';
export type { EventRow } from './lib/rows.js';
export type { IdleSession } from './lib/sealing.js';
export type { DashboardRange, DashboardStats, DashboardBucket, DashboardTotals, DashboardIdentity, DashboardDenied } from './lib/dashboard.js';
export type { StoreErrorCode } from './lib/errors.js';
export type * from './lib/types.js';
