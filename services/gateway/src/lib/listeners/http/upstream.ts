import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { HttpConnection } from './types.js';

export interface UpstreamRequest {
  method: string;
  /** Path and query as sent upstream (the base path already prepended). */
  path: string;
  /** Flat [name, value, ...] list, Host included. */
  headers: string[];
}

/**
 * Keep-alive socket pools per connection, so consecutive requests of many agents reuse upstream
 * connections (the TLS handshake and the TCP slow start are paid once).
 */
export class UpstreamPool {
  private readonly agents = new Map<string, HttpAgent>();

  agentFor(conn: HttpConnection): HttpAgent {
    let agent = this.agents.get(conn.name);
    if (!agent) {
      const u = conn.http.url;
      const common = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo' as const };
      agent =
        u.protocol === 'https:'
          ? new HttpsAgent({ ...common, ca: conn.http.tls.ca, servername: conn.http.tls.serverName ?? (isIp(u.hostname) ? undefined : u.hostname), rejectUnauthorized: conn.http.tls.rejectUnauthorized })
          : new HttpAgent(common);
      this.agents.set(conn.name, agent);
    }
    return agent;
  }

  /** Opens a request to the connection's upstream; the caller writes the body and ends it. */
  open(conn: HttpConnection, r: UpstreamRequest): ClientRequest {
    const u = conn.http.url;
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return send({
      host: u.hostname,
      port: u.port,
      method: r.method,
      path: r.path,
      headers: r.headers as unknown as OutgoingHttpHeaders,
      setHost: false,
      agent: this.agentFor(conn),
    });
  }

  /** A small request the gateway makes itself (registry token probe, ancestry check); body collected up to `maxBytes`. */
  async fetch(conn: HttpConnection, r: UpstreamRequest, body: Buffer | undefined, maxBytes = 1024 * 1024, timeoutMs = 15_000): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = this.open(conn, r);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`upstream did not answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            res.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.end(body);
    });
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(':');

/** The upstream path: base path + the path as the upstream API sees it (see `apiPath`) + query. */
export function upstreamPath(conn: HttpConnection, apiPath: string, query: string): string {
  return `${conn.http.url.basePath}${apiPath}${query ? `?${query}` : ''}`;
}

/** The path as the upstream API sees it: without the route prefix when it is stripped. */
export function apiPath(conn: HttpConnection, routedRest: string, fullPath: string): string {
  return conn.http.stripPrefix ? routedRest : fullPath;
}
