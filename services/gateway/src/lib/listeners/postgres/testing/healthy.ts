import { Backend, decodeDataRow, encodeBind, encodeDescribe, encodeExecute, encodeParse, encodeSync, type PgMessage } from '../../../protocols/postgres/index.js';
import type { PgHarness } from './harness.js';
import { RawPgClient, errorMessage } from './raw-client.js';

const TIMEOUT_MS = 10_000;
const PAUSE_MS = 5;

/**
 * A well-behaved session through the same listener, running for as long as the fuzzing does:
 * simple queries and extended-protocol executions, each answer checked against what was asked.
 */
export class HealthyLoop {
  count = 0;
  maxLatencyMs = 0;
  /** The first failure; the loop stops there. */
  error: string | undefined;
  private running = true;
  private readonly done: Promise<void>;
  private firstAnswer!: () => void;
  /** Resolves after the first correct answer. */
  readonly started = new Promise<void>((resolve) => (this.firstAnswer = resolve));
  private waiters: (() => void)[] = [];

  constructor(private readonly h: PgHarness) {
    this.done = this.run().catch((err: Error) => {
      this.error ??= err.message;
      this.firstAnswer();
    });
  }

  /** Resolves at the next correct answer; rejects after `timeoutMs` or once the loop failed. */
  async nextAnswer(timeoutMs: number): Promise<void> {
    if (this.error) throw new Error(this.error);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(this.error ?? `no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async run(): Promise<void> {
    const c = await RawPgClient.connect(this.h.port, { tls: true, timeoutMs: TIMEOUT_MS });
    const login = await c.login({ user: this.h.subject, database: 'fake', applicationName: 'healthy', token: this.h.token }, TIMEOUT_MS);
    if (!login.ok) throw new Error(`healthy session could not log in: ${login.error}`);
    for (let i = 1; this.running; i++) {
      const t0 = performance.now();
      const value = String(i * 7);
      let got: PgMessage[];
      if (i % 3 === 0) {
        c.write(Buffer.concat([encodeParse({ sql: 'SELECT $1::int8' }), encodeBind({ params: [Buffer.from(value)] }), encodeDescribe({ kind: 'P' }), encodeExecute(), encodeSync()]));
        got = await c.untilReady(TIMEOUT_MS, `extended query #${i}`);
        this.expect(got, [Backend.ParseComplete, Backend.BindComplete, Backend.RowDescription, Backend.DataRow, Backend.CommandComplete, Backend.ReadyForQuery], value, i);
      } else {
        got = await c.query(`SELECT ${value}`, TIMEOUT_MS);
        this.expect(got, [Backend.RowDescription, Backend.DataRow, Backend.CommandComplete, Backend.ReadyForQuery], value, i);
      }
      this.maxLatencyMs = Math.max(this.maxLatencyMs, performance.now() - t0);
      this.count++;
      if (this.count === 1) this.firstAnswer();
      for (const w of this.waiters.splice(0)) w();
      // A canary, not a load generator: the fuzzing gets the CPU.
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
    await c.terminate(TIMEOUT_MS);
  }

  private expect(got: PgMessage[], codes: number[], value: string, i: number): void {
    const err = got.find((m) => m.code === Backend.ErrorResponse);
    if (err) throw new Error(`healthy query #${i} failed: ${errorMessage(err)}`);
    const seen = got.map((m) => String.fromCharCode(m.code)).join('');
    if (seen !== codes.map((c) => String.fromCharCode(c)).join('')) throw new Error(`healthy query #${i}: got messages ${seen}`);
    const row = decodeDataRow(got.find((m) => m.code === Backend.DataRow)!.payload);
    if (row.length !== 1 || row[0]?.toString() !== value) throw new Error(`healthy query #${i}: asked for ${value}, got ${JSON.stringify(row.map((v) => v?.toString()))}`);
  }
}
