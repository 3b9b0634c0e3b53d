import type { RssGrowth } from './bulk-report.js';

/**
 * Resident memory in a Prometheus text exposition: `process_resident_memory_bytes` of prom-client's
 * default metrics (our services prefix them `chaperone_`); undefined when absent.
 */
export function residentBytes(metrics: string): number | undefined {
  const m = /^(?:chaperone_)?process_resident_memory_bytes(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(metrics);
  return m ? Number(m[1]) : undefined;
}

/** One node's growth: the highest sample minus the one before the run; undefined without a before. */
export function growthOf(node: string, before: number | undefined, samples: readonly number[]): RssGrowth | undefined {
  if (before === undefined) return undefined;
  const max = Math.max(before, ...samples);
  return { node, beforeBytes: before, maxBytes: max, growthBytes: max - before, samples: samples.length };
}

/** A gateway node's /metrics URL. */
export interface MetricsTarget {
  node: string;
  url: string;
}

/** Gateway nodes from stack.json's GATEWAY_HTTP_ADDRESSES (gateway-1 …, in order). */
export function gatewayMetrics(addresses: string | undefined): MetricsTarget[] {
  return (addresses ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a, i) => ({ node: `gateway-${i + 1}`, url: `http://${a}/metrics` }));
}

async function scrape(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? residentBytes(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples the gateway nodes' resident memory while a run goes on: `start()` takes the before
 * values, then every `intervalMs` a sample, and `stop()` one last sample and the growth per node
 * (nodes that never answered are left out).
 */
export class RssSampler {
  private before = new Map<string, number | undefined>();
  private readonly samples = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly targets: readonly MetricsTarget[],
    private readonly intervalMs = 250,
  ) {}

  async start(): Promise<void> {
    const values = await Promise.all(this.targets.map((t) => scrape(t.url)));
    this.before = new Map(this.targets.map((t, i) => [t.node, values[i]]));
    for (const t of this.targets) this.samples.set(t.node, []);
    this.timer = setInterval(() => {
      // One round at a time: a slow /metrics must not pile up requests on a busy node.
      this.inFlight = this.inFlight.then(() => this.sample());
    }, this.intervalMs);
  }

  async stop(): Promise<RssGrowth[]> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.sample();
    return this.targets.map((t) => growthOf(t.node, this.before.get(t.node), this.samples.get(t.node) ?? [])).filter((g): g is RssGrowth => g !== undefined);
  }

  private async sample(): Promise<void> {
    const values = await Promise.all(this.targets.map((t) => scrape(t.url)));
    this.targets.forEach((t, i) => {
      if (values[i] !== undefined) this.samples.get(t.node)?.push(values[i]);
    });
  }
}

/** A table's rule line as the transcript prints it: dashes per column, two spaces apart, indented. */
const RULE = /^\s+-+(?: {2}-+)*$/;
/** The command tag the transcript prints after a result (`  (SELECT 0)`): no row came. */
const TAG = /^\s+\([A-Z][A-Z ]*(?: \d+)*\)$/;

/**
 * Watches a replay transcript's output for its first result row. The transcript prints a result
 * as an empty line, the header, a rule of dashes, then the rows (an empty result shows its tag
 * there instead); a statement's text is indented, so none of its lines is empty and a dashed SQL
 * line is never taken for a rule. Fed chunks as they come; `push` returns true once that row's
 * line is complete.
 */
export class FirstRowWatch {
  private tail = '';
  /** The last two complete lines, newest first. */
  private recent: [string, string] = ['x', 'x'];
  private afterRule = false;
  found = false;

  push(chunk: string): boolean {
    if (this.found) return true;
    const lines = (this.tail + chunk).split('\n');
    this.tail = lines.pop()!;
    for (const line of lines) {
      if (this.afterRule && line.trim() !== '' && !TAG.test(line)) return (this.found = true);
      const [header, blank] = this.recent;
      this.afterRule = RULE.test(line) && header.trim() !== '' && blank === '';
      this.recent = [line, header];
    }
    return false;
  }
}
