import pg from 'pg';

export interface HeldOptions {
  host: string;
  port: number;
  subject: string;
  token: string;
  ca: Buffer;
  applicationName: string;
  /** A statement the policy holds for approval (e.g. an UPDATE without WHERE on the sandbox). */
  sql: string;
}

/**
 * An agent whose statement waits for approval: one PostgreSQL session on the sandbox that sends
 * the statement, learns the approval id from the gateway's NOTICE, and sends the same text again
 * when it was refused (the gateway reuses an approval granted meanwhile).
 */
export class HeldAgent {
  readonly approvalIds: string[] = [];
  /** What happened to each attempt, for the scenario's timeline. */
  readonly outcomes: string[] = [];
  ran = false;
  private client: pg.Client | undefined;
  private pending: Promise<void> | undefined;
  /** approvalIds.length when the current attempt was sent. */
  private idsBefore = 0;

  constructor(readonly o: HeldOptions) {}

  get waiting(): boolean {
    return this.pending !== undefined;
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      host: this.o.host,
      port: this.o.port,
      user: this.o.subject,
      password: this.o.token,
      database: 'sandbox',
      application_name: this.o.applicationName,
      ssl: { ca: this.o.ca, rejectUnauthorized: true },
      connectionTimeoutMillis: 10_000,
      query_timeout: 120_000,
    });
    client.on('error', () => (this.client = undefined));
    client.on('notice', (n: { message?: string }) => {
      const m = /waiting for approval (\S+)/.exec(n.message ?? '');
      if (m) this.approvalIds.push(m[1]!);
    });
    await client.connect();
    this.client = client;
    return client;
  }

  /** Sends the statement (again) unless it already ran or is still waiting. */
  async submit(): Promise<void> {
    if (this.ran || this.pending) return;
    const client = await this.connect();
    const started = Date.now();
    this.idsBefore = this.approvalIds.length;
    this.pending = client.query(this.o.sql).then(
      () => {
        this.ran = true;
        this.outcomes.push(`ran after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
      (err: Error & { code?: string }) => {
        this.outcomes.push(`refused after ${((Date.now() - started) / 1000).toFixed(1)} s: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
        if (err.code !== '42501') this.client = undefined;
      },
    ).finally(() => (this.pending = undefined));
  }

  /** Resolves with the current attempt's approval id once the gateway named it (undefined if the attempt ended first or `timeoutMs` passed). */
  async ticket(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.approvalIds.length === this.idsBefore && this.pending) await new Promise((r) => setTimeout(r, 100));
    return this.approvalIds.length > this.idsBefore ? this.approvalIds.at(-1) : undefined;
  }

  async close(): Promise<void> {
    await Promise.race([this.pending, new Promise((r) => setTimeout(r, 2000))]);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
