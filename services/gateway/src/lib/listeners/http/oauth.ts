import type { Logger } from '@chaperone/observability';
import { UpstreamError } from '../../errors.js';

// OAuth 2.0 client credentials (RFC 6749 §4.4) towards an upstream (an MCP server behind an
// authorization server): the gateway is the OAuth client, the agent never sees the token.

type Header = [string, string];

export interface ClientCredentialsOptions {
  connection: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string | undefined;
  resource: string | undefined;
  refreshBeforeMs: number;
  log: Logger;
  now?: () => number;
}

/** A token without expires_in is kept this long (RFC 6749 §5.1 leaves the lifetime to the server). */
const DEFAULT_LIFETIME_S = 300;
const TOKEN_TIMEOUT_MS = 15_000;

/**
 * Gets, caches and renews one access token per connection. Concurrent requests share one token
 * request (single flight); a token is renewed `refreshBeforeMs` before it expires (or at half
 * its lifetime when that is shorter), and dropped when the upstream answers 401.
 */
export class ClientCredentialsToken {
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ClientCredentialsOptions) {
    this.now = o.now ?? Date.now;
  }

  async headers(): Promise<Header[]> {
    const t = this.token;
    const value = t && t.renewAt > this.now() ? t.value : await (this.pending ??= this.fetchToken().finally(() => (this.pending = undefined)));
    return [['Authorization', `Bearer ${value}`]];
  }

  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.o.scope) body.set('scope', this.o.scope);
    if (this.o.resource) body.set('resource', this.o.resource);
    // client_secret_basic: id and secret form-urlencoded, then Basic (RFC 6749 §2.3.1).
    const basic = Buffer.from(`${encodeURIComponent(this.o.clientId)}:${encodeURIComponent(this.o.clientSecret)}`).toString('base64');
    const url = new URL(this.o.tokenUrl);
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) }).catch((err: Error) => {
      throw new UpstreamError('AUTH_FAILED', `the token endpoint ${url.origin} of connection ${this.o.connection} is unreachable: ${err.message}`);
    });
    const json = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
    if (!res.ok || typeof json.access_token !== 'string') {
      const why = typeof json.error === 'string' ? `${json.error}${typeof json.error_description === 'string' ? `: ${json.error_description}` : ''}` : `HTTP ${res.status}`;
      throw new UpstreamError('AUTH_FAILED', `the token endpoint ${url.origin} refused the client credentials of connection ${this.o.connection} (${why})`);
    }
    const lifetimeMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_LIFETIME_S) * 1000;
    const renewAt = this.now() + Math.max(0, Math.min(lifetimeMs - this.o.refreshBeforeMs, lifetimeMs / 2));
    this.token = { value: json.access_token, renewAt };
    this.o.log.info({ connection: this.o.connection, expiresInS: lifetimeMs / 1000 }, 'upstream access token obtained (oauth client credentials)');
    return json.access_token;
  }
}
