import { readFile } from 'node:fs/promises';
import type { Logger } from '@chaperone/observability';
import { UpstreamError } from '../../errors.js';
import { ClientCredentialsToken } from './oauth.js';
import type { HttpConnection } from './types.js';
import type { UpstreamPool } from './upstream.js';
import { errorMessage } from '@chaperone/observability';

/** What a request needs from the registry token flow: the repository and the actions. */
export interface CredentialScope {
  repository?: string;
  actions?: ('pull' | 'push' | 'delete')[];
}

type Header = [string, string];

/** Supplies the headers that carry the connection's credentials upstream. */
export interface CredentialSource {
  headers(scope: CredentialScope): Header[] | Promise<Header[]>;
  /** The upstream answered 401 with these credentials: drop what is cached. */
  invalidate(): void;
}

class Static implements CredentialSource {
  constructor(private readonly h: Header[]) {}
  headers(): Header[] {
    return this.h;
  }
  invalidate(): void {}
}

/** Projected service-account tokens rotate; the file is re-read at most every reloadIntervalMs. */
class ServiceAccountToken implements CredentialSource {
  private token: string | undefined;
  private readAt = 0;
  constructor(
    private readonly file: string,
    private readonly reloadMs: number,
  ) {}
  async headers(): Promise<Header[]> {
    if (this.token === undefined || Date.now() - this.readAt > this.reloadMs) {
      try {
        this.token = (await readFile(this.file, 'utf8')).trim();
      } catch (err) {
        throw new UpstreamError('AUTH_FAILED', `cannot read the service-account token ${this.file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
      this.readAt = Date.now();
    }
    return [['Authorization', `Bearer ${this.token}`]];
  }
  invalidate(): void {
    this.token = undefined;
  }
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 6750 §3 / distribution token auth). */
export function parseBearerChallenge(header: string | undefined): { realm: string; service: string | undefined } | undefined {
  if (!header || !/^\s*bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/([A-Za-z]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return params.realm ? { realm: params.realm, service: params.service } : undefined;
}

/**
 * The Docker/OCI registry token flow: probe `GET /v2/` once for the challenge, then fetch a
 * token per scope from the realm with the configured username/password and cache it until
 * shortly before it expires.
 */
class RegistryToken implements CredentialSource {
  private challenge: { realm: string; service: string | undefined } | null | undefined;
  private readonly tokens = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly conn: HttpConnection,
    private readonly pool: UpstreamPool,
    private readonly username: string | undefined,
    private readonly password: string | undefined,
    private readonly log: Logger,
  ) {}

  async headers(scope: CredentialScope): Promise<Header[]> {
    if (this.challenge === undefined) {
      const r = await this.pool.fetch(this.conn, { method: 'GET', path: `${this.conn.http.url.basePath}/v2/`, headers: ['Host', this.conn.http.url.host] }, undefined, 64 * 1024);
      const www = r.headers['www-authenticate'];
      this.challenge = r.status === 401 ? (parseBearerChallenge(typeof www === 'string' ? www : undefined) ?? null) : null;
      this.log.info({ connection: this.conn.name, tokenFlow: this.challenge !== null }, 'registry authentication probed');
    }
    if (this.challenge === null) return this.basic();
    const scopeText = scope.repository ? `repository:${scope.repository}:${(scope.actions ?? ['pull']).join(',')}` : 'registry:catalog:*';
    const cached = this.tokens.get(scopeText);
    if (cached && cached.until > Date.now()) return [['Authorization', `Bearer ${cached.value}`]];
    const url = new URL(this.challenge.realm);
    if (this.challenge.service) url.searchParams.set('service', this.challenge.service);
    url.searchParams.set('scope', scopeText);
    const headers: Record<string, string> = {};
    if (this.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${this.username}:${this.password ?? ''}`).toString('base64')}`;
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) }).catch((err: Error) => {
      throw new UpstreamError('AUTH_FAILED', `registry token realm ${url.origin} unreachable: ${err.message}`);
    });
    if (!res.ok) throw new UpstreamError('AUTH_FAILED', `registry token realm ${url.origin} answered ${res.status} for scope ${scopeText}`);
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const value = body.token ?? body.access_token;
    if (!value) throw new UpstreamError('AUTH_FAILED', `registry token realm ${url.origin} returned no token`);
    // distribution's default token lifetime is 60 s when expires_in is absent; renew 10 s early.
    this.tokens.set(scopeText, { value, until: Date.now() + Math.max(5, (body.expires_in ?? 60) - 10) * 1000 });
    if (this.tokens.size > 1000) this.tokens.delete(this.tokens.keys().next().value!);
    return [['Authorization', `Bearer ${value}`]];
  }

  private basic(): Header[] {
    return this.username === undefined ? [] : [['Authorization', `Basic ${Buffer.from(`${this.username}:${this.password ?? ''}`).toString('base64')}`]];
  }

  invalidate(): void {
    this.tokens.clear();
    this.challenge = undefined;
  }
}

export function credentialSource(conn: HttpConnection, pool: UpstreamPool, log: Logger): CredentialSource {
  const c = conn.http.credentials;
  switch (c.type) {
    case 'none':
      return new Static([]);
    case 'bearer':
      return new Static([['Authorization', `Bearer ${c.token}`]]);
    case 'basic':
      return new Static([['Authorization', `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`]]);
    case 'header':
      return new Static([[c.name, c.value]]);
    case 'kubernetesServiceAccount':
      return new ServiceAccountToken(c.tokenFile, c.reloadIntervalMs);
    case 'registryToken':
      return new RegistryToken(conn, pool, c.username, c.password, log);
    case 'oauthClientCredentials':
      return new ClientCredentialsToken({ connection: conn.name, tokenUrl: c.tokenUrl, clientId: c.clientId, clientSecret: c.clientSecret, scope: c.scope, resource: c.resource, refreshBeforeMs: c.refreshBeforeMs, log });
  }
}
