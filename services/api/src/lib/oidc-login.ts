import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoginConfig } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { errorMessage } from '@chaperone/observability';

/** The flow's state, nonce and PKCE verifier, for the callback (Lax: the provider redirects back cross-site). */
export const FLOW_COOKIE = '__Host-chaperone-oidc';
const FLOW_SECONDS = 600;
export const CALLBACK_PATH = '/api/v1/login/oidc/callback';

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

const b64url = (b: Buffer): string => b.toString('base64url');
const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** A one-line refusal of the browser login, shown on the console's login page. */
export class OidcLoginError extends Error {
  override name = 'OidcLoginError';
}

/**
 * The console's OpenID Connect login (authorization code + PKCE, RFC 7636) against the login
 * provider, as the console's own client (login.consoleClientId): `start` sends the browser to the
 * provider, `callback` checks state, trades the code for the ID token and hands it to `establish`
 * (which verifies it like any token and sets the session cookie). The redirect URI is this
 * origin's CALLBACK_PATH, which the provider must have registered for the client.
 */
export function createOidcLogin(login: LoginConfig & { consoleClientId: string }, log: Logger) {
  let discovery: Promise<Discovery> | undefined;
  const discover = (): Promise<Discovery> => {
    discovery ??= fetch(`${login.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })
      .then(async (r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return (await r.json()) as Discovery;
      })
      .catch((err: unknown) => {
        discovery = undefined;
        throw new OidcLoginError(`cannot read the login provider's discovery document at ${login.issuer}: ${errorMessage(err)}; is it running?`);
      });
    return discovery;
  };
  const redirectUri = (req: IncomingMessage): string => `https://${req.headers.host ?? 'localhost'}${CALLBACK_PATH}`;

  return {
    async start(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
      const d = await discover();
      const flow: Flow = { state: b64url(randomBytes(24)), nonce: b64url(randomBytes(24)), verifier: b64url(randomBytes(32)) };
      const url = new URL(d.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code', client_id: login.consoleClientId, redirect_uri: redirectUri(req), scope: 'openid profile groups',
        state: flow.state, nonce: flow.nonce, code_challenge: b64url(createHash('sha256').update(flow.verifier).digest()), code_challenge_method: 'S256',
      }).toString();
      res.writeHead(302, {
        ...headers, location: url.toString(), 'cache-control': 'no-store',
        'set-cookie': `${FLOW_COOKIE}=${b64url(Buffer.from(JSON.stringify(flow)))}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${FLOW_SECONDS}`,
      });
      res.end();
    },

    /** The ID token of a provider's answer to `start`, after checking its state and nonce. */
    async callback(req: IncomingMessage, query: URLSearchParams, flowCookie: string | undefined): Promise<string> {
      if (query.get('error')) throw new OidcLoginError(`the login provider refused: ${query.get('error_description') ?? query.get('error')}`);
      let flow: Flow;
      try {
        flow = JSON.parse(Buffer.from(flowCookie ?? '', 'base64url').toString('utf8')) as Flow;
      } catch {
        throw new OidcLoginError('no login in progress in this browser (or it took over 10 minutes): start again');
      }
      if (!flow.state || !same(flow.state, query.get('state') ?? '')) throw new OidcLoginError('the login answer does not match the login this browser started: start again');
      const d = await discover();
      const r = await fetch(d.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: query.get('code') ?? '', redirect_uri: redirectUri(req), client_id: login.consoleClientId, code_verifier: flow.verifier }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await r.json().catch(() => ({}))) as { id_token?: string; error?: string; error_description?: string };
      if (!r.ok || !body.id_token) {
        log.info({ status: r.status, error: body.error }, 'console login: code exchange refused');
        throw new OidcLoginError(`the login provider did not issue an ID token: ${body.error_description ?? body.error ?? `HTTP ${r.status}`}`);
      }
      // The signature, issuer, audience and lifetime are checked where every token is (the API's verifier).
      const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { nonce?: string };
      if (!claims.nonce || !same(claims.nonce, flow.nonce)) throw new OidcLoginError('the ID token is not for this login (nonce): start again');
      return body.id_token;
    },
  };
}

export type OidcLogin = ReturnType<typeof createOidcLogin>;
