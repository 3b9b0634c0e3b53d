import { BenchError } from './errors.js';

/** What one pgbench run reports. */
export interface PgbenchResult {
  /** Transactions per second without the initial connection time. */
  tps: number;
  /** Average latency of one transaction in ms (one statement with `-S`). */
  latencyMs: number;
  transactions: number;
  failed: number;
}

const number = (text: string, re: RegExp): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

/**
 * Reads pgbench's summary. PostgreSQL 14+ prints `tps = N (without initial connection time)`;
 * 13 and older print two tps lines, of which `(excluding connections establishing)` is the
 * comparable one. `number of failed transactions` exists from 15 on.
 */
export function parsePgbenchOutput(stdout: string): PgbenchResult {
  const tps = number(stdout, /^tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/m) ?? number(stdout, /^tps = ([\d.]+)/m);
  const latencyMs = number(stdout, /^latency average = ([\d.]+) ms/m);
  const transactions = number(stdout, /^number of transactions actually processed: (\d+)/m);
  if (tps === undefined || latencyMs === undefined || transactions === undefined)
    throw new BenchError('BAD_OUTPUT', `pgbench printed no tps/latency summary:\n${stdout.trim().split('\n').slice(-12).join('\n')}`);
  return { tps, latencyMs, transactions, failed: number(stdout, /^number of failed transactions: (\d+)/m) ?? 0 };
}
