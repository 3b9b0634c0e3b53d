import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A JWT's `exp` (unverified: only to know when to refresh; the API verifies the token). */
export function jwtExp(token: string): number {
  try {
    const p = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof p.exp === 'number' ? p.exp : 0;
  } catch {
    return 0;
  }
}

/** The parts of an OpenID provider's discovery document login uses. */
export interface Provider {
  issuer: string;
  token_endpoint: string;
  authorization_endpoint?: string;
  device_authorization_endpoint?: string;
}

export interface Tokens {
  idToken: string;
  refreshToken: string | undefined;
  expiresAt: number;
}

const SCOPE = 'openid profile groups offline_access';

/** The provider's reason for an error answer (RFC 6749 §5.2). */
const why = (body: Record<string, unknown>, fallback = 'no reason'): string =>
  typeof body.error_description === 'string' ? body.error_description : typeof body.error === 'string' ? body.error : fallback;

async function postForm(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(form) });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok && body.error === undefined) throw new Error(`${url} answered ${res.status}`);
  return body;
}

export async function discover(issuer: string): Promise<Provider> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`cannot read the OpenID configuration of ${issuer} (HTTP ${res.status})`);
  return (await res.json()) as Provider;
}

function tokensOf(body: Record<string, unknown>): Tokens {
  if (typeof body.id_token !== 'string') throw new Error(`the provider answered without an ID token: ${why(body)}`);
  const exp = jwtExp(body.id_token);
  return { idToken: body.id_token, refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined, expiresAt: exp * 1000 };
}

/**
 * OAuth 2.0 Device Authorization Grant (RFC 8628): shows a code to enter on another device and
 * polls the token endpoint at the interval the provider asks (slower on `slow_down`).
 */
export async function deviceLogin(p: Provider, clientId: string, show: (uri: string, code: string, complete?: string) => void): Promise<Tokens> {
  if (!p.device_authorization_endpoint) throw new Error(`${p.issuer} offers no device authorization; use --browser`);
  const start = await postForm(p.device_authorization_endpoint, { client_id: clientId, scope: SCOPE });
  if (typeof start.device_code !== 'string') throw new Error(`device authorization refused: ${why(start)}`);
  show(String(start.verification_uri), String(start.user_code), typeof start.verification_uri_complete === 'string' ? start.verification_uri_complete : undefined);
  let interval = Number(start.interval ?? 5) * 1000;
  const deadline = Date.now() + Number(start.expires_in ?? 600) * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, interval));
    const body = await postForm(p.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: start.device_code, client_id: clientId });
    if (body.error === 'authorization_pending') continue;
    if (body.error === 'slow_down') {
      interval += 5000;
      continue;
    }
    if (body.error) throw new Error(`login failed: ${why(body)}`);
    return tokensOf(body);
  }
  throw new Error('the code expired before it was entered; run chaperone login again');
}

/** PKCE (RFC 7636) S256 pair. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Authorization code flow with PKCE and a loopback redirect (RFC 8252 §7.3): the browser comes
 * back to 127.0.0.1 on a port chosen now, with the code and the state we sent.
 */
export async function browserLogin(p: Provider, clientId: string, open: (url: string) => void): Promise<Tokens> {
  if (!p.authorization_endpoint) throw new Error(`${p.issuer} has no authorization endpoint`);
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  let done!: (v: { code: string } | Error) => void;
  const got = new Promise<{ code: string } | Error>((r) => (done = r));
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/callback') return void res.writeHead(404).end();
    const code = u.searchParams.get('code');
    const ok = code !== null && u.searchParams.get('state') === state;
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' }).end(ok ? 'Logged in to Chaperone; you can close this tab.\n' : 'Login failed.\n');
    done(ok ? { code } : new Error(`login failed: ${u.searchParams.get('error_description') ?? u.searchParams.get('error') ?? 'state mismatch'}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const redirect = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  try {
    const url = new URL(p.authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: clientId, response_type: 'code', scope: SCOPE, redirect_uri: redirect, state, code_challenge: challenge, code_challenge_method: 'S256', prompt: 'consent' }))
      url.searchParams.set(k, v);
    open(url.toString());
    const r = await got;
    if (r instanceof Error) throw r;
    return tokensOf(await postForm(p.token_endpoint, { grant_type: 'authorization_code', code: r.code, redirect_uri: redirect, client_id: clientId, code_verifier: verifier }));
  } finally {
    server.close();
  }
}

/** A fresh ID token from the refresh token. */
export async function refresh(tokenEndpoint: string, clientId: string, refreshToken: string): Promise<Tokens> {
  const body = await postForm(tokenEndpoint, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
  if (body.error) throw new Error(`refreshing the login failed: ${why(body)}; run chaperone login`);
  const t = tokensOf(body);
  return { ...t, refreshToken: t.refreshToken ?? refreshToken };
}
