import type { PgbenchResult } from './pgbench-output.js';

export type Target = 'direct' | 'pgbouncer' | 'chaperone';
export type QueryMode = 'simple' | 'extended';
export const TARGETS: Target[] = ['direct', 'pgbouncer', 'chaperone'];

/** One pgbench run against one target. */
export interface BenchCase extends PgbenchResult {
  target: Target;
  mode: QueryMode;
  clients: number;
  /** Chaperone only: mean time a client message waited for the event log's acknowledgement, µs (gateway metrics). */
  recordWaitUs?: number;
  /** Chaperone only: CPU time of the gateway nodes per transaction, µs (gateway metrics). */
  gatewayCpuUs?: number;
  /** Chaperone only: mean duration of the gateways' Kafka produce requests, µs. */
  produceUs?: number;
  /** Chaperone only: Kafka produce requests the gateways sent per transaction. */
  producesPerStatement?: number;
}

/** The three targets side by side for one mode and client count. */
export interface Comparison {
  mode: QueryMode;
  clients: number;
  /** Chaperone's TPS over PgBouncer's. */
  chaperoneOverPgbouncerTps: number;
  /** Average latency added per statement (`-S` runs one per transaction) over going direct, µs. */
  addedLatencyUs: { pgbouncer: number; chaperone: number };
  recordWaitUs: number | undefined;
  gatewayCpuUs: number | undefined;
  produceUs: number | undefined;
  producesPerStatement: number | undefined;
}

export function compare(cases: BenchCase[]): Comparison[] {
  const out: Comparison[] = [];
  for (const c of cases.filter((x) => x.target === 'chaperone')) {
    const peer = (t: Target) => cases.find((x) => x.target === t && x.mode === c.mode && x.clients === c.clients);
    const direct = peer('direct');
    const bouncer = peer('pgbouncer');
    if (!direct || !bouncer) continue;
    out.push({
      mode: c.mode,
      clients: c.clients,
      chaperoneOverPgbouncerTps: c.tps / bouncer.tps,
      addedLatencyUs: { pgbouncer: (bouncer.latencyMs - direct.latencyMs) * 1000, chaperone: (c.latencyMs - direct.latencyMs) * 1000 },
      recordWaitUs: c.recordWaitUs,
      gatewayCpuUs: c.gatewayCpuUs,
      produceUs: c.produceUs,
      producesPerStatement: c.producesPerStatement,
    });
  }
  return out;
}

/** The targets: Chaperone ≥ PgBouncer's TPS at 8 clients, ≤ 50 µs added per statement at 1 client. */
export function verdicts(comparisons: Comparison[]): string[] {
  const lines: string[] = [];
  for (const c of comparisons) {
    if (c.clients === 8) {
      const ok = c.chaperoneOverPgbouncerTps >= 1;
      lines.push(`${c.mode}, 8 clients: Chaperone at ${(c.chaperoneOverPgbouncerTps * 100).toFixed(0)}% of PgBouncer's TPS (target ≥ 100%): ${ok ? 'met' : 'NOT met'}`);
    }
    if (c.clients === 1) {
      const ok = c.addedLatencyUs.chaperone <= 50;
      lines.push(`${c.mode}, 1 client: Chaperone adds ${c.addedLatencyUs.chaperone.toFixed(0)} µs per statement over direct (target ≤ 50 µs): ${ok ? 'met' : 'NOT met'}`);
    }
  }
  return lines;
}

const pad = (s: string, n: number) => s.padStart(n);

export function formatTable(cases: BenchCase[], comparisons: Comparison[]): string {
  const get = (t: Target, mode: QueryMode, clients: number) => cases.find((x) => x.target === t && x.mode === mode && x.clients === clients);
  const cell = (c: BenchCase | undefined) => (c ? `${pad(c.tps.toFixed(0), 8)} ${pad(c.latencyMs.toFixed(3), 8)}` : pad('-', 17));
  const head1 = `${'mode'.padEnd(9)}${pad('clients', 7)} | ${'direct'.padEnd(17)} | ${'pgbouncer'.padEnd(17)} | ${'chaperone'.padEnd(17)} | chap/pgb | added µs/stmt vs direct`;
  const head2 = `${''.padEnd(16)} | ${pad('tps', 8)} ${pad('lat ms', 8)} | ${pad('tps', 8)} ${pad('lat ms', 8)} | ${pad('tps', 8)} ${pad('lat ms', 8)} | ${pad('tps', 8)} | pgbouncer chaperone (ack wait, cpu, produce µs × requests/stmt)`;
  const rows = comparisons.map((c) => {
    const produce = c.produceUs === undefined ? '' : `, ${c.produceUs.toFixed(0)} × ${c.producesPerStatement?.toFixed(2) ?? '?'}`;
    const wait = c.recordWaitUs === undefined ? '' : ` (${c.recordWaitUs.toFixed(0)}, ${c.gatewayCpuUs?.toFixed(0) ?? '?'}${produce})`;
    return (
      `${c.mode.padEnd(9)}${pad(String(c.clients), 7)} | ${cell(get('direct', c.mode, c.clients))} | ${cell(get('pgbouncer', c.mode, c.clients))} | ` +
      `${cell(get('chaperone', c.mode, c.clients))} | ${pad(c.chaperoneOverPgbouncerTps.toFixed(2), 8)} | ${pad(c.addedLatencyUs.pgbouncer.toFixed(0), 9)} ${pad(c.addedLatencyUs.chaperone.toFixed(0), 9)}${wait}`
    );
  });
  return [head1, head2, ...rows].join('\n');
}
