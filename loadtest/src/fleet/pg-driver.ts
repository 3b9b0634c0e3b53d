import pg from 'pg';
import { statementLevel } from './classify.js';

export interface PgAgentOptions {
  host: string;
  port: number;
  subject: string;
  token: string;
  /** Every fleet connection carries it, so the loss checker finds the run's upstream backends. */
  applicationName: string;
  ca: Buffer;
  runId: string;
  agent: number;
  /** Statements per session before the agent ends it and opens another: [min, max]. */
  sessionOps: [number, number];
  rand: () => number;
  onOpen: () => void;
  /** Longest wait for one statement (a held one waits for approvers). @default 30000 */
  queryTimeoutMs?: number;
}

type Db = 'demo' | 'sandbox';

/** The sandbox table the writers use (created once per fleet through the gateway). */
export const FLEET_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS fleet_events (id bigserial PRIMARY KEY, run text NOT NULL, agent int NOT NULL, n int NOT NULL, note text, at timestamptz NOT NULL DEFAULT now())';

/** Statements the policy refuses on the production connection (ddl-in-prod, denied-function). */
const BLOCKED = ['DROP TABLE orders', 'TRUNCATE customers', "SELECT pg_read_file('/etc/passwd')"];

/**
 * One agent's PostgreSQL side: a session on `demo` (production: reads, and statements the policy
 * blocks) and one on `sandbox` (development: writes), each ended after a few statements and
 * opened again, the way agents work in bursts. A connection-level error drops the session;
 * the next statement opens a new one through the load balancer.
 */
export class PgAgent {
  private readonly clients = new Map<Db, { client: pg.Client; left: number; broken: boolean }>();
  private n = 0;

  constructor(private readonly o: PgAgentOptions) {}

  private int(min: number, max: number): number {
    return min + Math.floor(this.o.rand() * (max - min + 1));
  }

  /** A client for the connection, opening a session when there is none or the old one is used up. */
  async client(db: Db): Promise<pg.Client> {
    const cur = this.clients.get(db);
    if (cur && (cur.left <= 0 || cur.broken)) await this.drop(db);
    let c = this.clients.get(db);
    if (!c) {
      const client = new pg.Client({
        host: this.o.host,
        port: this.o.port,
        user: this.o.subject,
        password: this.o.token,
        database: db,
        application_name: this.o.applicationName,
        ssl: { ca: this.o.ca, rejectUnauthorized: true },
        connectionTimeoutMillis: 10_000,
        query_timeout: this.o.queryTimeoutMs ?? 30_000,
        keepAlive: true,
      });
      const entry = { client, left: this.int(...this.o.sessionOps), broken: false };
      // A lost connection surfaces on the next query too; this only keeps it from crashing the process.
      client.on('error', () => (entry.broken = true));
      await client.connect();
      this.o.onOpen();
      this.clients.set(db, entry);
      c = entry;
    }
    c.left--;
    return c.client;
  }

  /** Runs one statement; a connection-level failure drops the session before rethrowing. */
  async query(db: Db, text: string, params?: unknown[]): Promise<pg.QueryResult> {
    const client = await this.client(db);
    try {
      return await (params ? client.query(text, params) : client.query(text));
    } catch (err) {
      if (!statementLevel(err)) {
        const c = this.clients.get(db);
        if (c) c.broken = true;
      }
      throw err;
    }
  }

  async read(): Promise<void> {
    const id = this.int(1, 300);
    switch (this.int(0, 2)) {
      case 0:
        await this.query('demo', 'SELECT id, full_name, email, country FROM customers WHERE id = $1', [id]);
        break;
      case 1:
        await this.query('demo', 'SELECT status, count(*), sum(total_cents) FROM orders WHERE customer_id = $1 GROUP BY status', [id]);
        break;
      default:
        await this.query('demo', 'SELECT p.name, sum(o.quantity) AS units FROM orders o JOIN products p ON p.id = o.product_id GROUP BY p.name ORDER BY units DESC LIMIT 5');
    }
  }

  async write(): Promise<void> {
    const n = ++this.n;
    const { runId, agent } = this.o;
    switch (this.int(0, 2)) {
      case 0:
        await this.query('sandbox', 'INSERT INTO fleet_events (run, agent, n, note) VALUES ($1, $2, $3, $4)', [runId, agent, n, 'insert']);
        break;
      case 1:
        await this.query('sandbox', 'UPDATE fleet_events SET note = $1 WHERE run = $2 AND agent = $3 AND n = $4', [`update ${n}`, runId, agent, n - 1]);
        break;
      default:
        // Simple protocol, three statements in one query string (the gateway records three commands).
        await this.query('sandbox', `BEGIN; INSERT INTO fleet_events (run, agent, n, note) VALUES ('${runId}', ${agent}, ${n}, 'tx'); COMMIT`);
    }
  }

  /** A statement the policy refuses; resolves when refused (SQLSTATE 42501), throws if it ran. */
  async blocked(): Promise<void> {
    const sql = BLOCKED[this.int(0, BLOCKED.length - 1)]!;
    try {
      await this.query('demo', sql);
    } catch (err) {
      if ((err as { code?: string }).code === '42501') return;
      throw err;
    }
    throw Object.assign(new Error(`the policy did not refuse: ${sql}`), { code: 'NOT_REFUSED' });
  }

  private async drop(db: Db): Promise<void> {
    const c = this.clients.get(db);
    this.clients.delete(db);
    if (!c) return;
    await Promise.race([c.client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  }

  /** Ends both sessions cleanly (Terminate), so they are sealed by their gateway. */
  async close(): Promise<void> {
    await Promise.all([this.drop('demo'), this.drop('sandbox')]);
  }
}
