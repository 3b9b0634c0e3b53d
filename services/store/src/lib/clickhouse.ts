import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { encodeRowBinary } from './rowbinary.js';
import type { ColumnSpec } from './rows.js';
import { ident } from './sql.js';
import { splitTsvLine } from './tsv.js';
import { fromEngineText } from './translate.js';
import type { QueryColumn, QueryResult } from './types.js';

/** The `clickhouse` block of the configuration (structurally `Config['clickhouse']`). */
export interface ClickHouseConfig {
  url: string;
  database: string;
  username: string;
  password: string;
  /** Read-only user for SOC SQL; without it SOC SQL runs as the main user with readonly=1. */
  readonly?: { username: string; password: string } | undefined;
}

/**
 * Turns a client or server error into a StoreError: unreachable servers get a hint, refusals the
 * server's own words (translate.ts).
 */
function translate(err: unknown, where: string): StoreError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || /timeout/i.test(e.message ?? ''))
    return new StoreError('UNAVAILABLE', `${where} is not reachable (${e.code ?? e.message}); is it running? (deploy/local/status shows the local stack)`, { cause: err });
  return fromEngineText(String(e.message ?? err), err);
}

/** How long one migration statement may run (the client's timeout of the migration client). */
const MIGRATION_TIMEOUT_MS = 24 * 3600_000;

/** Statements with a trailing `;` or whitespace would break the FORMAT clause we append. */
function trimStatement(sql: string): string {
  return sql.trim().replace(/;+\s*$/, '').trim();
}

class HttpExecutor implements Executor {
  readonly database: string;
  readonly describe: string;
  private readonly internal: ClickHouseClient;
  private readonly scoped: ClickHouseClient;
  private readonly soc: ClickHouseClient;
  private readonly socSettings: ClickHouseSettings;

  constructor(cfg: ClickHouseConfig) {
    this.database = ident(cfg.database);
    this.describe = `ClickHouse at ${cfg.url}`;
    // The client's own console logging would bypass pino; every failure reaches the caller anyway.
    const common = { url: cfg.url, log: { level: ClickHouseLogLevel.OFF }, request_timeout: 120_000 };
    // Two clients of the main user: one without a database (the database may not exist yet, and
    // the server refuses every request that names a missing one), one inside it for migrations.
    this.internal = createClient({ ...common, username: cfg.username, password: cfg.password });
    // Migrations copy tables (004 copies `events`: ~4 s a GB on a 2-core VM), longer than any
    // request should take; cut off by a timeout, a copy would start over on every restart.
    this.scoped = createClient({ ...common, request_timeout: MIGRATION_TIMEOUT_MS, username: cfg.username, password: cfg.password, database: cfg.database });
    // A readonly=1 user may not change any setting, so nothing is sent for it; the main user is
    // made read-only per request instead.
    this.soc = cfg.readonly
      ? createClient({ ...common, username: cfg.readonly.username, password: cfg.readonly.password, database: cfg.database })
      : createClient({ ...common, username: cfg.username, password: cfg.password, database: cfg.database });
    this.socSettings = cfg.readonly ? {} : { readonly: '1' };
  }

  async command(sql: string, opts: { inDatabase?: boolean } = {}): Promise<void> {
    try {
      await (opts.inDatabase ? this.scoped : this.internal).command({ query: sql });
    } catch (err) {
      throw translate(err, this.describe);
    }
  }

  async select<T>(sql: string): Promise<T[]> {
    try {
      const rs = await this.internal.query({ query: sql, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw translate(err, this.describe);
    }
  }

  async selectBinary(sql: string): Promise<Buffer> {
    try {
      // The server holds the result until the query is done, so a failure half-way is an HTTP
      // error and never an error text appended to rows already sent (RowBinary cannot tell).
      const r = await this.internal.exec({ query: `${trimStatement(sql)}\nFORMAT RowBinary`, clickhouse_settings: { wait_end_of_query: 1 } });
      const chunks: Buffer[] = [];
      for await (const chunk of r.stream as AsyncIterable<Buffer>) chunks.push(chunk);
      return Buffer.concat(chunks);
    } catch (err) {
      throw translate(err, this.describe);
    }
  }

  async insert(table: string, columns: readonly ColumnSpec[], rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    const names = columns.map((c) => c.name).join(', ');
    try {
      const r = await this.internal.exec({
        query: `INSERT INTO ${this.database}.${ident(table)} (${names}) FORMAT RowBinary`,
        values: Readable.from([encodeRowBinary(columns, rows)]),
      });
      // The response body must be drained or the socket is never returned to the pool.
      for await (const _ of r.stream as AsyncIterable<unknown>);
    } catch (err) {
      throw translate(err, this.describe);
    }
  }

  async text(sql: string, opts: { maxRows: number }): Promise<QueryResult> {
    const abort = new AbortController();
    try {
      const r = await this.soc.exec({
        query: `${trimStatement(sql)}\nFORMAT TabSeparatedWithNamesAndTypes`,
        clickhouse_settings: this.socSettings,
        abort_signal: abort.signal,
      });
      const lines = createInterface({ input: r.stream, crlfDelay: Infinity });
      let names: (string | null)[] | undefined;
      let columns: QueryColumn[] | undefined;
      const rows: (string | null)[][] = [];
      let truncated = false;
      for await (const line of lines) {
        if (!names) names = splitTsvLine(line);
        else if (!columns) columns = splitTsvLine(line).map((type, i) => ({ name: names![i] ?? '', type: type ?? '' }));
        else if (rows.length < opts.maxRows) rows.push(splitTsvLine(line));
        else {
          truncated = true;
          break;
        }
      }
      // Stop the server from producing rows nobody reads.
      if (truncated) abort.abort();
      lines.close();
      r.stream.destroy();
      return { columns: columns ?? (names ?? []).map((n) => ({ name: n ?? '', type: '' })), rows, truncated };
    } catch (err) {
      throw translate(err, this.describe);
    }
  }

  async ping(): Promise<void> {
    const r = await this.internal.ping();
    if (!r.success) throw translate(r.error, this.describe);
  }

  async close(): Promise<void> {
    await Promise.all([this.internal.close(), this.scoped.close(), this.soc.close()]);
  }
}

/** An executor for a ClickHouse server over HTTP (18.16 and later). */
export function createHttpExecutor(cfg: ClickHouseConfig): Executor {
  return new HttpExecutor(cfg);
}
