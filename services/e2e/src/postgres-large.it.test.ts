/**
 * A large result through one recorded session streams with bounded gateway memory. The size
 * defaults to 128 MiB so CI stays short; E2E_LARGE_RESULT_MB=1024 runs the 1 GB form by hand.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { loadStack, type Stack } from './lib/stack.js';

const MB = Number(process.env.E2E_LARGE_RESULT_MB ?? 128);

function gatewayRss(stack: Stack): number[] {
  const pids = Array.from({ length: Number(stack.GATEWAY_NODES) }, (_, i) => readFileSync(`${stack.CHAPERONE_RUN_DIR}/pids/gateway-${i + 1}.pid`, 'utf8').trim());
  return pids.map((pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024);
}

describe('large results', () => {
  let stack: Stack;
  let token: string;
  const subject = `agent:large-${randomBytes(3).toString('hex')}`;

  before(async () => {
    stack = loadStack();
    token = await (await TokenIssuer.fromConfig(loadConfig(stack.CHAPERONE_CONFIG).identity)).issue({ subject, groups: ['agents'], ttlMs: 30 * 60_000 });
  });

  it(`streams ${MB} MiB of rows through a recorded session with bounded gateway memory`, async () => {
    const before = gatewayRss(stack);
    let peak = before.slice();
    const sampler = setInterval(() => (peak = gatewayRss(stack).map((v, i) => Math.max(v, peak[i]!))), 200);
    const conninfo = `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=sandbox user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`;
    const p = spawn('psql', [conninfo, '-X', '-At', '-c', `SELECT repeat('x', 1048576) FROM generate_series(1, ${MB})`], { env: { ...process.env, PGPASSWORD: token } });
    let bytes = 0;
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (bytes += d.length));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => p.on('close', (c) => resolve(c ?? -1)));
    clearInterval(sampler);
    assert.equal(code, 0, stderr);
    assert.equal(bytes, MB * (1048576 + 1));
    const growth = Math.max(...peak.map((v, i) => v - before[i]!));
    assert.ok(growth < 200 * 1024 * 1024, `gateway RSS grew by ${Math.round(growth / 1048576)} MiB while streaming ${MB} MiB`);
  });
});
