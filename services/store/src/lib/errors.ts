/** Stable codes callers (API, CLI) map to wire statuses and exit codes. */
export type StoreErrorCode =
  /** ClickHouse refused or failed a statement (message carries the server's text). */
  | 'CLICKHOUSE'
  /** The server cannot be reached. */
  | 'UNAVAILABLE'
  /** No such session. */
  | 'NOT_FOUND'
  /** A statement sent through the read-only path tried to write. */
  | 'READONLY'
  /** An applied migration file was changed after it was applied. */
  | 'MIGRATION_CHANGED'
  /** The caller passed something the store cannot accept (bad limit, empty SQL). */
  | 'BAD_REQUEST';

export class StoreError extends Error {
  override name = 'StoreError';
  /** ClickHouse's own error code (e.g. 164 READONLY) when the engine refused a statement. */
  engineCode?: number;
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class SessionNotFoundError extends StoreError {
  override name = 'SessionNotFoundError';
  constructor(readonly sessionId: string) {
    super('NOT_FOUND', `no recorded session ${sessionId}; list sessions with \`chaperone sessions ls\``);
  }
}
