import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePgbenchOutput } from './pgbench-output.js';

const PG15 = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 10
query mode: extended
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 123456
number of failed transactions: 0 (0.000%)
latency average = 0.648 ms
initial connection time = 35.012 ms
tps = 12345.678901 (without initial connection time)
`;

const PG13 = `transaction type: <builtin: select only>
number of transactions actually processed: 5000
latency average = 1.600 ms
tps = 4990.123456 (including connections establishing)
tps = 5000.500000 (excluding connections establishing)
`;

describe('pgbench output', () => {
  it('reads tps without connection time, average latency, transactions and failures (PostgreSQL 15)', () => {
    assert.deepEqual(parsePgbenchOutput(PG15), { tps: 12345.678901, latencyMs: 0.648, transactions: 123456, failed: 0 });
  });

  it('takes the tps excluding connection establishment from older pgbench', () => {
    assert.deepEqual(parsePgbenchOutput(PG13), { tps: 5000.5, latencyMs: 1.6, transactions: 5000, failed: 0 });
  });

  it('reports failed transactions', () => {
    assert.equal(parsePgbenchOutput(PG15.replace('failed transactions: 0 (0.000%)', 'failed transactions: 17 (0.014%)')).failed, 17);
  });

  it('refuses output without a summary, showing its end', () => {
    assert.throws(() => parsePgbenchOutput('pgbench: error: connection to server failed\n'), (e: Error & { code?: string }) => e.code === 'BAD_OUTPUT' && /connection to server failed/.test(e.message));
  });
});
