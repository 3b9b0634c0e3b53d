import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Lifecycle } from './lifecycle.js';
import { createRegistry, startOpsServer } from './ops-server.js';

describe('ops server', () => {
  it('serves health by lifecycle state and Prometheus metrics', async () => {
    const lifecycle = new Lifecycle('test');
    const registry = createRegistry({ service: 'test' });
    const server = await startOpsServer({ host: '127.0.0.1', port: 0, registry, lifecycle, checks: () => ({ kafka: { ok: true } }) });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 503);
      lifecycle.to('running');
      const r = await fetch(`${base}/healthz`);
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { state: string }).state, 'running');
      const m = await (await fetch(`${base}/metrics`)).text();
      assert.match(m, /chaperone_process_cpu_user_seconds_total/);
      lifecycle.to('draining');
      assert.equal((await fetch(`${base}/healthz`)).status, 503);
      assert.equal((await fetch(`${base}/livez`)).status, 200);
      assert.throws(() => lifecycle.to('running'), /cannot go from draining to running/);
    } finally {
      server.close();
    }
  });
});
