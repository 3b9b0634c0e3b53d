import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verdicts, type Comparison } from './pgbench-report.js';

const comparison = (clients: number, ratio: number, addedUs: number, cpuUs?: number): Comparison => ({
  mode: 'simple', clients, chaperoneOverPgbouncerTps: ratio, addedLatencyUs: { pgbouncer: 80, chaperone: addedUs },
  recordWaitUs: 500, gatewayCpuUs: cpuUs, produceUs: 900, producesPerStatement: 0.5,
});

describe('pgbench verdicts', () => {
  it('judges TPS against PgBouncer, CPU per statement and the latency added over the Kafka ack floor', () => {
    const v = verdicts([comparison(32, 0.55, 0, 140), comparison(8, 0.25, 0, 200), comparison(1, 0, 700)], 500);
    assert.deepEqual(v, [
      "simple, 32 clients: Chaperone at 55% of PgBouncer's TPS (target ≥ 50%): met",
      'simple, 32 clients: gateway CPU 140 µs per statement (target ≤ 150 µs): met',
      "simple, 8 clients: Chaperone at 25% of PgBouncer's TPS (target ≥ 30%): NOT met",
      'simple, 8 clients: gateway CPU 200 µs per statement (target ≤ 150 µs): NOT met',
      'simple, 1 client: Chaperone adds 700 µs per statement over direct (target ≤ Kafka ack floor 500 + 250 = 750 µs): met',
    ]);
    assert.deepEqual(verdicts([comparison(1, 0, 700)]), [], 'no floor measured, no latency verdict');
  });
});
