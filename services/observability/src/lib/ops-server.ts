import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Lifecycle } from './lifecycle.js';

export interface HealthReport {
  /** Overall: ok only when every check passes and the part is running. */
  ok: boolean;
  state: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  lifecycle: Lifecycle;
  /** Extra readiness checks (e.g. Kafka connected, policy loaded). */
  checks?: () => Promise<Record<string, { ok: boolean; detail?: string }>> | Record<string, { ok: boolean; detail?: string }>;
}

/** A registry with Node's default process metrics, prefixed `chaperone_`. */
export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'chaperone_' });
  return registry;
}

async function report(opts: OpsServerOptions): Promise<HealthReport> {
  const checks = opts.checks ? await opts.checks() : {};
  const running = opts.lifecycle.state === 'running';
  return { ok: running && Object.values(checks).every((c) => c.ok), state: opts.lifecycle.state, checks };
}

/**
 * `/healthz` (200 while running and every check passes — load balancers take a draining node
 * out on the 503), `/livez` (200 unless failed), `/metrics` (Prometheus text format).
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (err: Error) => send(500, 'text/plain', err.message),
      );
    } else if (path === '/healthz' || path === '/readyz') {
      report(opts).then(
        (r) => send(r.ok ? 200 : 503, 'application/json', JSON.stringify(r)),
        (err: Error) => send(503, 'application/json', JSON.stringify({ ok: false, error: err.message })),
      );
    } else if (path === '/livez') {
      const alive = opts.lifecycle.state !== 'failed';
      send(alive ? 200 : 503, 'application/json', JSON.stringify({ ok: alive, state: opts.lifecycle.state }));
    } else send(404, 'text/plain', 'not found: try /healthz, /livez or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
