/**
 * Wire-level helpers for the HTTP front-door tests (http-seams, http-conformance): raw HTTP/1.1
 * bytes and HTTP/2 requests sent through haproxy or straight at one gateway node, unique markers
 * in request paths, and what the JSON API upstream (deploy/local/json-api, one access-log line
 * per request it parsed) and the recording saw of them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as h2connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect } from 'node:tls';
import { logSince, logSize, sql } from './http.js';
import { eventually, type Stack } from './stack.js';

/** Where a request enters: the load-balanced endpoint, or one gateway node's HTTP proxy directly. */
export type Entry = 'haproxy' | 'node';
export const ENTRIES: Entry[] = ['haproxy', 'node'];

export function entryPort(stack: Stack, entry: Entry): number {
  if (entry === 'haproxy') return Number(stack.HAPROXY_HTTP_PORT);
  const first = (stack.GATEWAY_HTTP_PROXY_ADDRESSES ?? '').split(',')[0];
  if (!first) throw new Error('stack.env has no GATEWAY_HTTP_PROXY_ADDRESSES');
  return Number(first.split(':')[1]);
}

/** A marker no other request carries: it names one request in the upstream's log and the recording. */
export function marker(tag: string): string {
  return `m-${tag.replace(/[^a-z0-9]+/gi, '-').slice(0, 24)}-${randomBytes(5).toString('hex')}`;
}

export interface WireReply {
  /** Everything the gateway sent back, latin1. */
  text: string;
  /** Status codes of the HTTP/1.1 responses in it, in order. */
  statuses: number[];
  /** The gateway closed the connection (rather than the wait running out). */
  closed: boolean;
}

/** Writes raw bytes on a TLS connection (ALPN http/1.1) and collects the answer until the gateway closes or `waitMs` passes. */
export function sendRaw(stack: Stack, entry: Entry, bytes: string | Buffer, waitMs = 4000): Promise<WireReply> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let closed = false;
    const s = connect({ host: '127.0.0.1', port: entryPort(stack, entry), ca: readFileSync(stack.TLS_CA_FILE!), servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => s.write(bytes));
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      const text = Buffer.concat(out).toString('latin1');
      resolve({ text, statuses: [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])), closed });
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => out.push(c));
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', (e: Error) => (out.length > 0 || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? ((closed = true), done()) : reject(e)));
  });
}

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The stream was reset (or the session failed) instead of answered. */
  reset: string | undefined;
}

/** One HTTP/2 request (ALPN h2) on a fresh connection. */
export function sendH2(stack: Stack, entry: Entry, headers: OutgoingHttpHeaders, body?: string | Buffer, timeoutMs = 8000): Promise<H2Reply> {
  return new Promise((resolve) => {
    const session = h2connect(`https://localhost:${entryPort(stack, entry)}`, { ca: readFileSync(stack.TLS_CA_FILE!), servername: 'localhost', maxHeaderListPairs: 100_000 } as never);
    let settled = false;
    const finish = (r: H2Reply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      session.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish({ status: 0, headers: {}, body: '', reset: 'timeout' }), timeoutMs);
    session.on('error', (e: Error) => finish({ status: 0, headers: {}, body: '', reset: e.message }));
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let resHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      resHeaders = h;
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => finish({ status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8'), reset: undefined }));
    stream.on('error', (e: Error) => finish({ status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8'), reset: e.message }));
    stream.on('close', () => finish({ status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8'), reset: stream.rstCode ? `RST_STREAM ${stream.rstCode}` : undefined }));
    if (body !== undefined) stream.end(body);
  });
}

/** The JSON API upstream's access log: which markers it parsed a request for. */
export class UpstreamLog {
  private readonly from: number;
  constructor(private readonly stack: Stack) {
    this.from = logSize(this.file);
  }
  private get file(): string {
    return this.stack.JSON_API_ACCESS_LOG!;
  }
  /**
   * How many requests naming `m` the upstream logged, once `expected` are there or a second
   * passed (it logs when its response is finished, which may be after the gateway relayed it).
   */
  async countFor(m: string, expected: number): Promise<number> {
    const until = Date.now() + 1000;
    let n = this.linesFor(m).length;
    while (n < expected && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
      n = this.linesFor(m).length;
    }
    return n;
  }

  /** Request lines since this log was opened that name `m`. */
  linesFor(m: string): string[] {
    return logSince(this.file, this.from)
      .split('\n')
      .filter((l) => l.includes(m));
  }
}

/** Markers that appear in the text of an allowed (hence forwarded) command recorded for `subject`. */
export async function forwardedMarkers(stack: Stack, subject: string, markers: string[], expectAllowed: number): Promise<string[]> {
  const rows = await eventually(
    `${expectAllowed} allowed commands of ${subject} in ClickHouse`,
    async () => {
      const r = await sql<{ text: string }>(stack, `SELECT text FROM commands FINAL WHERE subject = '${subject}' AND decision = 'ALLOW'`);
      return r.length >= expectAllowed ? r : undefined;
    },
    90_000,
  );
  return markers.filter((m) => rows.some((r) => r.text.includes(m)));
}

/** `Host`, the agent's token and the given fields as an HTTP/1.1 head's field lines. */
export function fields(token: string, extra = ''): string {
  return `Host: 127.0.0.1:8443\r\nAuthorization: Bearer ${token}\r\n${extra}`;
}
