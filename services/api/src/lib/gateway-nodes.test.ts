import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Lifecycle, createRegistry, startOpsServer } from '@chaperone/observability';
import { gatewayNodeProbe, nodeMetrics } from './gateway-nodes.js';

const base = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/** A gateway node's ops endpoint as the gateway starts it: the observability ops server over a registry with its session gauges. */
async function gatewayOps(nodeId: string, open: { pg: number; http: number }, state: 'running' | 'draining') {
  const registry = createRegistry({ service: 'gateway', node: nodeId });
  new Gauge({ name: 'chaperone_pg_sessions_active', help: 'Open PostgreSQL sessions', registers: [registry] }).set(open.pg);
  new Gauge({ name: 'chaperone_http_sessions_active', help: 'Open HTTP sessions', registers: [registry] }).set(open.http);
  const lifecycle = new Lifecycle('gateway');
  lifecycle.to('running');
  if (state === 'draining') lifecycle.to('draining');
  const server = await startOpsServer({ host: '127.0.0.1', port: 0, registry, lifecycle, checks: () => ({ kafka: { ok: true } }) });
  return server;
}

describe('gateway nodes on the dashboard', () => {
  let up: Server, draining: Server, counted: Server, closedUrl: string;
  let hits = 0;
  before(async () => {
    up = await gatewayOps('gw-1', { pg: 2, http: 1 }, 'running');
    draining = await gatewayOps('gw-2', { pg: 0, http: 0 }, 'draining');
    counted = createServer((req, res) => {
      hits++;
      res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
      res.end('{"ok":true,"state":"running","checks":{}}');
    });
    await new Promise<void>((r) => counted.listen(0, '127.0.0.1', () => r()));
    // A port that was just listening and is closed: the node is down.
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', () => r()));
    closedUrl = base(gone);
    await close(gone);
  });
  after(async () => {
    await Promise.all([close(up), close(draining), close(counted)]);
  });

  it('shows each node up or down, with its open sessions and Node version, in config order', async () => {
    const nodes = await gatewayNodeProbe([
      { id: 'gw-1', url: base(up) },
      { id: 'gw-2', url: `${base(draining)}/` },
      { id: 'gw-3', url: closedUrl },
    ])();
    assert.deepEqual(nodes.map((n) => [n.id, n.ok]), [['gw-1', true], ['gw-2', false], ['gw-3', false]]);
    assert.equal(nodes[0]!.sessionsOpen, 3);
    assert.equal(nodes[0]!.detail, 'running');
    assert.equal(nodes[0]!.runtime, process.version);
    assert.equal(nodes[1]!.detail, 'draining');
    assert.equal(nodes[1]!.sessionsOpen, 0);
    assert.match(nodes[2]!.detail, /^unreachable: /);
    assert.equal(nodes[2]!.sessionsOpen, undefined);
  });

  it('asks the nodes once per cache window, however many dashboards refresh', async () => {
    const probe = gatewayNodeProbe([{ id: 'gw-x', url: base(counted) }], 60_000);
    const [a, b] = await Promise.all([probe(), probe()]);
    await probe();
    assert.equal(hits, 2); // one /healthz and one /metrics
    assert.equal(a, b);
    assert.equal(a[0]!.ok, true);
    assert.equal(a[0]!.sessionsOpen, undefined); // its /metrics answered 404
    const fresh = gatewayNodeProbe([{ id: 'gw-x', url: base(counted) }], 0);
    await fresh();
    await fresh();
    assert.equal(hits, 6);
  });

  it('reads a chaperone_build_info version when a node exports one', () => {
    const m = nodeMetrics('chaperone_build_info{version="1.2.3",service="gateway"} 1\nchaperone_k8s_sessions_active 4\n');
    assert.deepEqual(m, { sessionsOpen: 4, version: '1.2.3' });
  });
});
