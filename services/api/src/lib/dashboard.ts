import { status } from '@grpc/grpc-js';
import type { Config, HostPort } from '@chaperone/config';
import type { Store } from '@chaperone/store';
import { CallRefused } from './auth.js';
import { gatewayNodeProbe } from './gateway-nodes.js';
import type { WebDashboard, WebServiceHealth } from './web-types.js';
import { errorMessage } from '@chaperone/observability';

/** The ranges the dashboard offers: how far back, and the width of a bucket. */
export const DASHBOARD_RANGES = {
  '1h': { spanMicros: 3_600_000_000, bucketMicros: 60_000_000 },
  '24h': { spanMicros: 86_400_000_000, bucketMicros: 900_000_000 },
  '7d': { spanMicros: 604_800_000_000, bucketMicros: 7_200_000_000 },
} as const;
export type DashboardRangeName = keyof typeof DASHBOARD_RANGES;

/** A service the API checked: its /healthz answer (or the store's ping) and how long it took. */
export type ServiceHealth = WebServiceHealth;

/**
 * The Dashboard operation's answer (chaperone.proto DashboardResponse), declared once in
 * web-types.ts for the console; the store's aggregations are checked against it where it is built.
 */
export type DashboardView = WebDashboard;
/** Every range the wire type names is offered (the answer's `range` checks the other way). */
const _offered: Record<WebDashboard['range'], unknown> = DASHBOARD_RANGES;
void _offered;

/** How long the dashboard waits for a service's /healthz or /metrics. */
const PROBE_MS = 1500;

/** Where to reach a listener: a wildcard bind is reached on loopback. */
function url(hp: HostPort, path: string): string {
  const host = hp.host === '0.0.0.0' || hp.host === '::' || hp.host === '' ? '127.0.0.1' : hp.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${hp.port}${path}`;
}

async function probe(name: string, hp: HostPort): Promise<ServiceHealth> {
  const address = url(hp, '/healthz');
  const t0 = performance.now();
  const millis = () => Math.round(performance.now() - t0);
  try {
    const res = await fetch(address, { signal: AbortSignal.timeout(PROBE_MS) });
    const body = (await res.json().catch(() => ({}))) as { state?: string; checks?: Record<string, { ok: boolean }> };
    const failing = Object.entries(body.checks ?? {}).filter(([, c]) => !c.ok).map(([k]) => k);
    return { name, address, ok: res.ok, detail: [body.state ?? `HTTP ${res.status}`, ...failing.map((k) => `${k} failing`)].join(', '), millis: millis() };
  } catch (err) {
    return { name, address, ok: false, detail: `unreachable: ${errorMessage(err)}`, millis: millis() };
  }
}

async function pingStore(store: Store): Promise<ServiceHealth> {
  const t0 = performance.now();
  try {
    await store.ping();
    return { name: 'recording store', address: store.describe, ok: true, detail: 'running', millis: Math.round(performance.now() - t0) };
  } catch (err) {
    return { name: 'recording store', address: store.describe, ok: false, detail: errorMessage(err), millis: Math.round(performance.now() - t0) };
  }
}

/** The materializer's consumer lag: the sum of its chaperone_materializer_consumer_lag gauge (Prometheus text). */
export function consumerLag(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^chaperone_materializer_consumer_lag(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

async function materializerLag(hp: HostPort): Promise<{ lag: number; known: boolean }> {
  try {
    const res = await fetch(url(hp, '/metrics'), { signal: AbortSignal.timeout(PROBE_MS) });
    if (!res.ok) return { lag: 0, known: false };
    return { lag: consumerLag(await res.text()), known: true };
  } catch {
    return { lag: 0, known: false };
  }
}

/** The Dashboard operation: the store's aggregations over the range, recording lag, the health of what the API reaches and of every gateway node. */
export function dashboardCall(config: Config, store: Store) {
  const gatewayNodes = gatewayNodeProbe(config.api.gatewayNodes);
  return async (r: { range: string }): Promise<DashboardView> => {
    const range = (r.range || '1h') as DashboardRangeName;
    if (!Object.hasOwn(DASHBOARD_RANGES, range)) throw new CallRefused(status.INVALID_ARGUMENT, `range must be one of ${Object.keys(DASHBOARD_RANGES).join(', ')}, got ${r.range}`);
    const spec = DASHBOARD_RANGES[range];
    const nowMicros = Date.now() * 1000;
    // Buckets on whole multiples of their width, the last one holding now.
    const untilMicros = (Math.floor(nowMicros / spec.bucketMicros) + 1) * spec.bucketMicros;
    const sinceMicros = untilMicros - spec.spanMicros;
    const [stats, lag, nodes, ...services] = await Promise.all([
      store.dashboard({ sinceMicros, untilMicros, bucketMicros: spec.bucketMicros }),
      materializerLag(config.materializer.http),
      gatewayNodes(),
      pingStore(store),
      probe('materializer', config.materializer.http),
      probe('gateway', config.gateway.http),
      probe('approvals worker', config.temporal.http),
    ]);
    return {
      ...stats, range, sinceMicros, untilMicros, bucketMicros: spec.bucketMicros, totals: { startMicros: sinceMicros, ...stats.totals }, nowMicros,
      materializerLag: lag.lag, materializerLagKnown: lag.known, services, gatewayNodes: nodes,
    };
  };
}
