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
/**
 * The data-path targets (issue #12), each met or not: TPS against PgBouncer's at 32 and 8 clients,
 * the latency added at 1 client against the Kafka acknowledgement floor measured in the same run,
 * and the gateways' CPU per statement at 8 and 32 clients.
 */
export const TPS_TARGETS: Record<number, number> = { 32: 0.5, 8: 0.3 };
export const ADDED_OVER_FLOOR_US = 250;
export const CPU_PER_STATEMENT_US = 150;

export function verdicts(comparisons: Comparison[], ackFloorUs?: number): string[] {
  const lines: string[] = [];
  const say = (what: string, ok: boolean) => lines.push(`${what}: ${ok ? 'met' : 'NOT met'}`);
  for (const c of comparisons) {
    const tpsTarget = TPS_TARGETS[c.clients];
    if (tpsTarget !== undefined) {
      say(`${c.mode}, ${c.clients} clients: Chaperone at ${(c.chaperoneOverPgbouncerTps * 100).toFixed(0)}% of PgBouncer's TPS (target ≥ ${tpsTarget * 100}%)`, c.chaperoneOverPgbouncerTps >= tpsTarget);
      if (c.gatewayCpuUs !== undefined)
        say(`${c.mode}, ${c.clients} clients: gateway CPU ${c.gatewayCpuUs.toFixed(0)} µs per statement (target ≤ ${CPU_PER_STATEMENT_US} µs)`, c.gatewayCpuUs <= CPU_PER_STATEMENT_US);
    }
    if (c.clients === 1 && ackFloorUs !== undefined) {
      const limit = ackFloorUs + ADDED_OVER_FLOOR_US;
      say(
        `${c.mode}, 1 client: Chaperone adds ${c.addedLatencyUs.chaperone.toFixed(0)} µs per statement over direct (target ≤ Kafka ack floor ${ackFloorUs.toFixed(0)} + ${ADDED_OVER_FLOOR_US} = ${limit.toFixed(0)} µs)`,
        c.addedLatencyUs.chaperone <= limit,
      );
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
