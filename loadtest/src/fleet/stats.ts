/** Latency and error bookkeeping of a fleet run, and the report made from it. */

export type Protocol = 'postgres' | 'git' | 'http';

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface FleetReport {
  runId: string;
  startedAt: string;
  durationS: number;
  agents: number;
  targetRate: number;
  /** Completed operations (successful ones and expected refusals) per second. */
  throughput: number;
  ops: number;
  ok: number;
  errors: number;
  /** Errors by kind (`postgres:57P01`, `http:502`, `git:exit 128`, …). */
  errorsByKind: Record<string, number>;
  /** Latency in ms per protocol and per operation (`postgres.read`, `git.push`, …). */
  latency: Record<string, LatencySummary>;
  /** Sessions the agents opened, per protocol (PostgreSQL connections, HTTP connections). */
  sessionsOpened: Record<string, number>;
  /** Operations that started later than scheduled because the agent was still busy. */
  late: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { count: s.length, p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s.at(-1) ?? 0), mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

/** Collects samples while a run goes on; cheap enough to call per operation. */
export class FleetStats {
  readonly samples = new Map<string, number[]>();
  readonly errorsByKind = new Map<string, number>();
  readonly sessionsOpened = new Map<string, number>();
  ops = 0;
  ok = 0;
  errors = 0;
  late = 0;
  /** Successes in the current progress window, for the live rate. */
  private window: number[] = [];
  /** Successes and failures per wall-clock second (ms since the epoch / 1000), for fault timelines. */
  readonly perSecond = new Map<number, { ok: number; errors: number }>();

  private bucket(): { ok: number; errors: number } {
    const s = Math.floor(Date.now() / 1000);
    let b = this.perSecond.get(s);
    if (!b) this.perSecond.set(s, (b = { ok: 0, errors: 0 }));
    return b;
  }

  /** Successes and errors between two instants (ms since the epoch, whole seconds). */
  between(fromMs: number, toMs: number): { ok: number; errors: number } {
    const out = { ok: 0, errors: 0 };
    for (const [s, b] of this.perSecond) {
      if (s * 1000 >= fromMs && s * 1000 < toMs) {
        out.ok += b.ok;
        out.errors += b.errors;
      }
    }
    return out;
  }

  success(op: string, ms: number): void {
    this.ops++;
    this.ok++;
    const list = this.samples.get(op) ?? [];
    list.push(ms);
    this.samples.set(op, list);
    this.window.push(Date.now());
    this.bucket().ok++;
  }

  failure(kind: string): void {
    this.ops++;
    this.errors++;
    this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1);
    this.bucket().errors++;
  }

  opened(protocol: string): void {
    this.sessionsOpened.set(protocol, (this.sessionsOpened.get(protocol) ?? 0) + 1);
  }

  /** Successful operations per second over the last `ms`. */
  recentRate(ms = 5000): number {
    const since = Date.now() - ms;
    this.window = this.window.filter((t) => t >= since);
    return this.window.length / (ms / 1000);
  }

  /** p95 so far of one protocol's operations (for the progress line). */
  p95(protocol: string): number {
    const all: number[] = [];
    for (const [op, list] of this.samples) if (op.startsWith(`${protocol}.`)) all.push(...list.slice(-2000));
    return summarize(all).p95;
  }

  report(o: { runId: string; startedAtMs: number; endedAtMs: number; agents: number; targetRate: number }): FleetReport {
    const latency: Record<string, LatencySummary> = {};
    const byProtocol = new Map<string, number[]>();
    for (const [op, list] of this.samples) {
      latency[op] = summarize(list);
      const proto = op.split('.')[0]!;
      byProtocol.set(proto, [...(byProtocol.get(proto) ?? []), ...list]);
    }
    for (const [proto, list] of byProtocol) latency[proto] = summarize(list);
    const durationS = (o.endedAtMs - o.startedAtMs) / 1000;
    return {
      runId: o.runId,
      startedAt: new Date(o.startedAtMs).toISOString(),
      durationS: Math.round(durationS * 10) / 10,
      agents: o.agents,
      targetRate: o.targetRate,
      throughput: Math.round((this.ok / Math.max(durationS, 0.001)) * 10) / 10,
      ops: this.ops,
      ok: this.ok,
      errors: this.errors,
      errorsByKind: Object.fromEntries([...this.errorsByKind].sort((a, b) => b[1] - a[1])),
      latency: Object.fromEntries(Object.entries(latency).sort(([a], [b]) => a.localeCompare(b))),
      sessionsOpened: Object.fromEntries(this.sessionsOpened),
      late: this.late,
    };
  }
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

/** The report as a few readable lines. */
export function formatReport(r: FleetReport): string {
  const lines = [
    `fleet ${r.runId}: ${r.agents} agents, ${r.durationS} s, target ${r.targetRate}/s`,
    `  throughput ${r.throughput} ops/s — ${r.ok} ok, ${r.errors} errors${r.late ? `, ${r.late} started late (agents busy)` : ''}`,
    `  sessions opened: ${Object.entries(r.sessionsOpened).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `  latency (ms)        count      p50      p95      p99      max`,
  ];
  for (const [op, l] of Object.entries(r.latency)) lines.push(`  ${op.padEnd(16)} ${pad(l.count, 8)} ${pad(l.p50, 8)} ${pad(l.p95, 8)} ${pad(l.p99, 8)} ${pad(l.max, 8)}`);
  if (r.errors > 0) {
    lines.push('  errors by kind:');
    for (const [k, n] of Object.entries(r.errorsByKind)) lines.push(`    ${pad(n, 6)}  ${k}`);
  }
  return lines.join('\n');
}
