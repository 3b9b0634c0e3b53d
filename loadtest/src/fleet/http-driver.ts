import { Agent, request } from 'node:https';

export interface HttpAgentOptions {
  /** The agents' HTTP endpoint (haproxy), e.g. https://127.0.0.1:8443. */
  base: string;
  token: string;
  ca: Buffer;
  runId: string;
  agent: number;
  rand: () => number;
  onOpen: () => void;
  /** @default 30000 */
  timeoutMs?: number;
}

interface Reply {
  status: number;
  body: Buffer;
}

/**
 * One agent's HTTP API calls through the gateway to the JSON API upstream, over one keep-alive
 * connection (one recorded HTTP session per connection). Every request carries the run and a
 * request id in its query, so the loss checker can find it in the upstream's access log.
 */
export class HttpAgent {
  private readonly agent: Agent;
  private n = 0;
  private created: string[] = [];

  constructor(private readonly o: HttpAgentOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca: o.ca });
  }

  private marker(): string {
    return `fleet=${this.o.runId}&rid=${this.o.agent}-${++this.n}`;
  }

  private send(method: string, path: string, body?: unknown, retried = false): Promise<Reply> {
    const url = new URL(path, this.o.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          timeout: this.o.timeoutMs ?? 30_000,
          headers: { Authorization: `Bearer ${this.o.token}`, ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('socket', (s) => {
        if (!req.reusedSocket) {
          this.o.onOpen();
          s.setNoDelay(true);
        }
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while idle: the request never left, send it once more.
        if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) this.send(method, path, body, true).then(resolve, reject);
        else reject(err);
      });
      req.end(payload);
    });
  }

  private async expect(method: string, path: string, body?: unknown): Promise<Reply> {
    const r = await this.send(method, path, body);
    if (r.status < 200 || r.status >= 300) throw Object.assign(new Error(`${method} ${path.split('?')[0]} answered ${r.status}: ${r.body.toString('utf8').slice(0, 120)}`), { status: r.status });
    return r;
  }

  /** One API call: create, update, read back, or echo. */
  async call(): Promise<string> {
    const k = Math.floor(this.o.rand() * 4);
    if (k === 0 || (k === 2 && this.created.length === 0)) {
      const r = await this.expect('POST', `/api/items?${this.marker()}`, { run: this.o.runId, agent: this.o.agent, n: this.n });
      const id = (JSON.parse(r.body.toString('utf8')) as { id?: string | number }).id;
      if (id !== undefined) this.created.push(String(id));
      return 'http.post';
    }
    if (k === 1) {
      await this.expect('PATCH', `/api/items/${this.created.at(-1) ?? 0}?${this.marker()}`, { touched: this.n }).catch((err: { status?: number }) => {
        if (err.status !== 404) throw err; // nothing created yet on this agent
      });
      return 'http.patch';
    }
    if (k === 2) {
      const id = this.created[Math.floor(this.o.rand() * this.created.length)]!;
      await this.expect('GET', `/api/items/${id}?${this.marker()}`);
      return 'http.get';
    }
    await this.expect('GET', `/api/echo?${this.marker()}`);
    return 'http.get';
  }

  close(): void {
    this.agent.destroy();
  }
}
