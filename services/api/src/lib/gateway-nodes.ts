import { errorMessage } from '@chaperone/observability';
import type { WebGatewayNode } from './web-types.js';

/** How long a node's /healthz and /metrics may take before it shows as unreachable. */
export const NODE_PROBE_MS = 1500;
/** How long one round of probes is reused: every open dashboard refreshes, the nodes are asked once. */
export const NODE_CACHE_MS = 5000;

export interface GatewayNodeAddress {
  id: string;
  url: string;
}

/** What a node's Prometheus text says: open sessions (all protocols), its version and Node's. */
export function nodeMetrics(text: string): Pick<WebGatewayNode, 'sessionsOpen' | 'version' | 'runtime'> {
  let open = 0;
  for (const m of text.matchAll(/^chaperone_[a-z0-9]+_sessions_active(?:\{[^}]*\})? (\S+)$/gm)) open += Number(m[1]);
  const version = /^chaperone_build_info\{[^}]*\bversion="([^"]*)"/m.exec(text)?.[1];
  const runtime = /^chaperone_nodejs_version_info\{[^}]*\bversion="([^"]*)"/m.exec(text)?.[1];
  return { sessionsOpen: open, ...(version ? { version } : {}), ...(runtime ? { runtime } : {}) };
}

const join = (base: string, path: string): string => new URL(path, base.endsWith('/') ? base : `${base}/`).toString();

/** One node: its /healthz (up or down, and why) and /metrics (open sessions, versions), each within NODE_PROBE_MS. */
export async function probeGatewayNode(node: GatewayNodeAddress): Promise<WebGatewayNode> {
  const t0 = performance.now();
  const millis = () => Math.round(performance.now() - t0);
  const metrics = fetch(join(node.url, 'metrics'), { signal: AbortSignal.timeout(NODE_PROBE_MS) })
    .then(async (res) => (res.ok ? nodeMetrics(await res.text()) : {}))
    .catch(() => ({}));
  try {
    const res = await fetch(join(node.url, 'healthz'), { signal: AbortSignal.timeout(NODE_PROBE_MS) });
    const body = (await res.json().catch(() => ({}))) as { state?: string; checks?: Record<string, { ok: boolean; detail?: string }> };
    const failing = Object.entries(body.checks ?? {}).filter(([, c]) => !c.ok).map(([k, c]) => `${k} failing${c.detail ? ` (${c.detail})` : ''}`);
    const detail = [body.state ?? `HTTP ${res.status}`, ...failing].join(', ');
    return { id: node.id, url: node.url, ok: res.ok, detail, ...(await metrics), millis: millis() };
  } catch (err) {
    await metrics;
    return { id: node.id, url: node.url, ok: false, detail: `unreachable: ${errorMessage(err)}`, millis: millis() };
  }
}

/**
 * The configured gateway nodes, probed all at once and at most once per NODE_CACHE_MS (callers
 * within that window share one round, even one still running).
 */
export function gatewayNodeProbe(nodes: readonly GatewayNodeAddress[], cacheMs = NODE_CACHE_MS): () => Promise<WebGatewayNode[]> {
  let last: { at: number; round: Promise<WebGatewayNode[]> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= cacheMs) last = { at: now, round: Promise.all(nodes.map(probeGatewayNode)) };
    return last.round;
  };
}
