import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { str } from './sql.js';

/** How long each recording table keeps rows, in days; 0 keeps them forever (config `retention`). */
export interface RetentionDays {
  eventsDays: number;
  commandsDays: number;
  sessionsDays: number;
}

export interface RetentionReport {
  /** Tables whose TTL was set (engines with TTL: ClickHouse ≥ 19.6, chdb). */
  ttl: string[];
  /** Month partitions dropped where the engine has no TTL (ClickHouse 18.16), as `table/YYYYMM`. */
  dropped: string[];
}

/** Each table with its date column (all are partitioned by toYYYYMM of it, 001/002). */
const TABLES: { table: string; column: string; days: keyof RetentionDays }[] = [
  { table: 'events', column: 'event_date', days: 'eventsDays' },
  { table: 'commands', column: 'event_date', days: 'commandsDays' },
  { table: 'commands_by_subject', column: 'event_date', days: 'commandsDays' },
  { table: 'sessions', column: 'started_date', days: 'sessionsDays' },
];

/** ClickHouse "syntax error": 18.16 does not know `MODIFY TTL`. */
const CH_SYNTAX_ERROR = 62;

/**
 * Applies the configured retention after the migrations: a table TTL
 * (`ALTER TABLE … MODIFY TTL <date> + INTERVAL n DAY`, which ClickHouse enforces in its merges)
 * where the engine has TTLs; on ClickHouse 18.16, which has none, the month partitions whose last
 * day is older than the retention are dropped instead — run again (the materializer does, daily)
 * to keep enforcing it. Idempotent; a table with 0 days is left as it is.
 */
export async function applyRetention(exec: Executor, r: RetentionDays, now = Date.now()): Promise<RetentionReport> {
  const report: RetentionReport = { ttl: [], dropped: [] };
  for (const t of TABLES) {
    const days = r[t.days];
    if (!days) continue;
    try {
      await exec.command(`ALTER TABLE ${t.table} MODIFY TTL ${t.column} + toIntervalDay(${days})`, { inDatabase: true });
      report.ttl.push(t.table);
    } catch (err) {
      if (!(err instanceof StoreError) || err.engineCode !== CH_SYNTAX_ERROR) throw err;
      for (const p of await expiredPartitions(exec, t.table, days, now)) {
        await exec.command(`ALTER TABLE ${t.table} DROP PARTITION ${p}`, { inDatabase: true });
        report.dropped.push(`${t.table}/${p}`);
      }
    }
  }
  return report;
}

/** Month partitions (YYYYMM) of `table` whose every day is older than `days` days before now. */
export async function expiredPartitions(exec: Executor, table: string, days: number, now: number): Promise<string[]> {
  const rows = await exec.select<{ partition: string }>(
    `SELECT DISTINCT partition FROM system.parts WHERE database = ${str(exec.database)} AND table = ${str(table)} AND active`,
  );
  const cutoff = now - days * 86_400_000;
  return rows
    .map((row) => row.partition.replace(/'/g, ''))
    .filter((p) => /^\d{6}$/.test(p) && Date.UTC(Number(p.slice(0, 4)), Number(p.slice(4, 6)), 1) <= cutoff)
    .sort();
}
