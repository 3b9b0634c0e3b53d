import type { FleetStats } from './stats.js';

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  durationMs: number;
  stats: FleetStats;
  /** Extra text at the end of the line (e.g. the fault scenario's phase). */
  note?: () => string;
  /** Seconds between lines when the stream is not a terminal. @default 5 */
  plainEverySeconds?: number;
}

const WIDTH = 24;

/**
 * A live progress line on stderr: redrawn in place on a terminal, one plain line every few
 * seconds otherwise (CI logs, pipes), so the output stays readable in both.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lastPlain = 0;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  line(): string {
    const elapsed = Date.now() - this.started;
    const frac = Math.min(1, elapsed / this.o.durationMs);
    const s = this.o.stats;
    const bar = `${'#'.repeat(Math.round(frac * WIDTH))}${'-'.repeat(WIDTH - Math.round(frac * WIDTH))}`;
    const p95 = ['postgres', 'git', 'http'].map((p) => [p, s.p95(p)] as const).filter(([, v]) => v > 0).map(([p, v]) => `${p === 'postgres' ? 'pg' : p} p95 ${v.toFixed(1)}ms`);
    const note = this.o.note?.();
    return `[${bar}] ${Math.round(elapsed / 1000)}/${Math.round(this.o.durationMs / 1000)}s  ops ${s.ok} (${s.recentRate().toFixed(1)}/s)  err ${s.errors}${p95.length ? `  ${p95.join('  ')}` : ''}${note ? `  | ${note}` : ''}`;
  }

  start(): void {
    const every = this.tty ? 250 : 1000;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  private tick(): void {
    if (this.tty) {
      const cols = this.stream.columns || 120;
      this.stream.write(`\r${this.line().slice(0, cols - 1).padEnd(cols - 1)}`);
    } else if (Date.now() - this.lastPlain >= (this.o.plainEverySeconds ?? 5) * 1000) {
      this.lastPlain = Date.now();
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Prints a message above the live line without breaking it. */
  log(message: string): void {
    if (this.tty) this.stream.write(`\r${' '.repeat((this.stream.columns || 120) - 1)}\r`);
    this.stream.write(`${message}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) this.stream.write(`\r${this.line()}\n`);
    else this.stream.write(`${this.line()}\n`);
  }
}
