import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { HostPort, LoginConfig } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import type { Caller } from './auth.js';
import type { CallFailure, CallRunner } from './calls.js';
import type { Operations } from './operations.js';
import { CALLBACK_PATH, FLOW_COOKIE, OidcLoginError, createOidcLogin, type OidcLogin } from './oidc-login.js';
import { loadConsole, type StaticFile } from './static.js';
import { ANY_SESSION, type LiveFeed } from './live-feed.js';
import { serveLive } from './web-live.js';
import { errorMessage } from '@chaperone/observability';

/** The console's session cookie: the person's token, never readable by scripts (`__Host-`: Secure, Path=/, no Domain). */
export const SESSION_COOKIE = '__Host-chaperone-session';
/** Unsafe methods must carry this header: a cross-site form cannot, and a cross-origin script would need a CORS preflight we never grant. */
export const CSRF_HEADER = 'x-chaperone-console';

const MAX_BODY = 1024 * 1024;
/** What the console watches live: the sessions list, one session, the approvals inbox. */
const LIVE_ROUTES = /^\/api\/v1\/(sessions|sessions\/[^/]+|approvals)$/;

/**
 * Only our own scripts, styles and API (the console has no inline script or style); no framing,
 * no plugins, no base or form target elsewhere.
 */
const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
].join('; ');

/** The placeholder Vite writes where the per-response nonce goes (console vite.config.ts `html.cspNonce`). */
const NONCE_PLACEHOLDER = 'CHAPERONE_CSP_NONCE';

/**
 * The console page's headers: its style-src also takes `<style>` elements carrying this
 * response's nonce (the terminal's renderer makes them; the console hands the nonce to xterm.js
 * alone). Scripts stay 'self' only; inline style attributes stay refused.
 */
function pageHeaders(nonce: string): Record<string, string> {
  return { ...SECURITY_HEADERS, 'content-security-policy': CSP.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`) };
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const HTTP_STATUS: Partial<Record<status, number>> = {
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.INVALID_ARGUMENT]: 400,
  [status.FAILED_PRECONDITION]: 409,
  [status.UNAVAILABLE]: 503,
  [status.UNIMPLEMENTED]: 501,
  [status.DEADLINE_EXCEEDED]: 504,
};

export interface WebServerOptions {
  listen: HostPort;
  tls: { certFile: string; keyFile: string };
  run: CallRunner;
  operations: Operations;
  log: Logger;
  /** The login provider (config login); with its consoleClientId the console logs people in there. */
  login?: LoginConfig | undefined;
  /** The built console; absent: `/` answers with how to build it. */
  consoleDir?: string;
  /** Which sessions Kafka shows changing: live session streams re-read the store only then; absent: they poll it. */
  liveFeed?: LiveFeed;
}

export interface WebServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** A refusal of the web layer itself (before any operation runs). */
class WebRefusal extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: () => Promise<Record<string, unknown>>;
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) return void chunks.push(c);
      // Answer 413 at once; what is still coming is read and dropped (the socket then closes).
      chunks.length = 0;
      reject(new WebRefusal(413, 'TOO_LARGE', `request body over ${MAX_BODY} bytes: send less`));
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reject(new WebRefusal(415, 'UNSUPPORTED', 'send the body as application/json'));
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch (err) {
        reject(new WebRefusal(400, 'INVALID_ARGUMENT', `the body is not a JSON object: ${errorMessage(err)}`));
      }
    });
    req.on('error', reject);
  });
}

const num = (q: URLSearchParams, k: string): number => {
  const v = q.get(k);
  if (v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new WebRefusal(400, 'INVALID_ARGUMENT', `${k} must be a non-negative integer`);
  return n;
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The console's JSON API under /api/v1: each route is one operation of operations.ts, run through
 * the same authorization, metrics and logging as its gRPC call. The answer is the operation's own
 * message as JSON (approvals' JSON text parsed).
 */
function route(o: WebServerOptions, r: Request): Promise<unknown> | undefined {
  const { run, operations: ops } = o;
  const call = <T>(rpc: string, fn: (caller: Caller | undefined) => Promise<T>): Promise<T> => run(rpc, r.authorization, fn);
  const m = /^\/api\/v1\/(sessions|approvals)\/([^/]+)(?:\/(transcript|exchanges|verify|decision|end))?$/.exec(r.path);
  const key = m ? `${r.method} ${m[1]}/:id${m[3] ? `/${m[3]}` : ''}` : `${r.method} ${r.path.slice('/api/v1/'.length)}`;
  const id = m ? decodeURIComponent(m[2]!) : '';
  switch (key) {
    case 'GET whoami':
      return call('WhoAmI', (c) => ops.WhoAmI({}, c));
    case 'GET sessions':
      return call('ListSessions', () =>
        ops.ListSessions({
          subject: r.query.get('subject') ?? '', connection: r.query.get('connection') ?? '', verdict: r.query.get('verdict') ?? '', state: r.query.get('state') ?? '',
          sinceMicros: num(r.query, 'sinceMicros'), untilMicros: num(r.query, 'untilMicros'), limit: Math.min(num(r.query, 'limit') || 50, 1000),
        }),
      );
    case 'GET dashboard':
      return call('Dashboard', () => ops.Dashboard({ range: r.query.get('range') ?? '' }));
    case 'GET sessions/:id':
      return call('GetSession', () => ops.GetSession({ sessionId: id }));
    case 'GET sessions/:id/transcript':
      return call('Transcript', () => ops.Transcript({ sessionId: id }));
    case 'GET sessions/:id/exchanges':
      return call('Exchanges', () => ops.Exchanges({ sessionId: id }));
    case 'POST sessions/:id/end':
      return r.body().then((b) => call('EndSession', (c) => ops.EndSession({ sessionId: id, reason: str(b.reason) }, c)));
    case 'POST sessions/:id/verify':
      return call('Verify', () => ops.Verify({ sessionId: id }));
    case 'POST query':
      return r.body().then((b) => call('Query', () => ops.Query({ sql: str(b.sql), maxRows: Math.min(Number(b.maxRows) || 1000, 10_000) })));
    case 'GET approvals':
      return call('ListApprovals', async () => ({
        approvals: JSON.parse((await ops.ListApprovals({ all: r.query.get('all') === 'true', limit: num(r.query, 'limit') || 50 })).json) as unknown,
      }));
    case 'GET approvals/:id':
      return call('GetApproval', async () => {
        const a = await ops.GetApproval({ id });
        return { approvalId: a.approvalId, status: JSON.parse(a.json) as unknown };
      });
    case 'POST approvals/:id/decision':
      return r.body().then((b) =>
        call('DecideApproval', async (c) => {
          if (typeof b.approve !== 'boolean') throw new WebRefusal(400, 'INVALID_ARGUMENT', 'give approve: true or false');
          const a = await ops.DecideApproval({ id, approve: b.approve, reason: str(b.reason) }, c);
          return { approvalId: a.approvalId, status: JSON.parse(a.json) as unknown, refused: a.refused };
        }),
      );
    default:
      return undefined;
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(code, {
    ...(code === 413 ? { connection: 'close' } : {}), ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof WebRefusal) return send(res, err.httpStatus, { error: { code: err.code, message: err.message } });
  const f = err as Partial<CallFailure> & Error;
  const code = typeof f.code === 'number' ? f.code : status.INTERNAL;
  send(res, HTTP_STATUS[code] ?? 500, { error: { code: status[code], message: f.details ?? f.message } });
}

const sessionCookie = (value: string, maxAge: number): string => `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;

/**
 * A console session for a token (pasted, or the ID token of the browser login): it must verify and
 * carry a console role (an agent's token carries none and is refused); the cookie lasts as long
 * as the token.
 */
async function consoleSession(o: WebServerOptions, token: string) {
  const who = await o.run('WhoAmI', `Bearer ${token}`, (c) => o.operations.WhoAmI({}, c));
  if (who.roles.length === 0)
    throw new WebRefusal(403, 'PERMISSION_DENIED', `${who.subject} has no console role (soc, approver or admin): agent identities cannot use the console`);
  const maxAge = Math.max(0, Math.floor(who.expiresMicros / 1e6 - Date.now() / 1000));
  return { who, cookie: sessionCookie(encodeURIComponent(token), maxAge) };
}

async function login(o: WebServerOptions, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const token = str(body.token).trim();
  if (!token) throw new WebRefusal(400, 'INVALID_ARGUMENT', 'give the token to log in with');
  const { who, cookie } = await consoleSession(o, token);
  send(res, 200, who, { 'set-cookie': cookie });
}

/** The provider's answer: a session and the console, or the login page with the reason. */
async function oidcCallback(o: WebServerOptions, oidc: OidcLogin, req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const clearFlow = `${FLOW_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
  try {
    const { cookie } = await consoleSession(o, await oidc.callback(req, query, cookieOf(req, FLOW_COOKIE)));
    res.writeHead(302, { ...SECURITY_HEADERS, location: '/', 'cache-control': 'no-store', 'set-cookie': [cookie, clearFlow] });
  } catch (err) {
    const why = err instanceof OidcLoginError || err instanceof WebRefusal ? err.message : (err as CallFailure).details ?? String(err);
    res.writeHead(302, { ...SECURITY_HEADERS, location: `/login?error=${encodeURIComponent(why)}`, 'cache-control': 'no-store', 'set-cookie': clearFlow });
  }
  res.end();
}

function serveStatic(files: Map<string, StaticFile> | undefined, path: string, res: ServerResponse): void {
  if (!files) {
    res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    res.end('the console is not built: run `npx nx run @chaperone/console:build` (or npm run build), then restart the API\n');
    return;
  }
  // Client-side routes (no file extension) get the app; assets are content-hashed, so cached for good.
  const file = files.get(path) ?? (/\.[a-z0-9]+$/i.test(path) ? undefined : files.get('/index.html'));
  if (!file) {
    res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
    return;
  }
  const immutable = path.startsWith('/assets/');
  if (file.type.startsWith('text/html')) {
    const nonce = randomBytes(18).toString('base64');
    res.writeHead(200, { ...pageHeaders(nonce), 'content-type': file.type, 'cache-control': 'no-store' });
    return void res.end(file.bytes.toString('utf8').replaceAll(NONCE_PLACEHOLDER, nonce));
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
  res.end(file.bytes);
}

async function handle(o: WebServerOptions, files: Map<string, StaticFile> | undefined, oidc: OidcLogin | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://console.invalid');
  const method = req.method ?? 'GET';
  if (!url.pathname.startsWith('/api/')) {
    if (method !== 'GET' && method !== 'HEAD') throw new WebRefusal(405, 'METHOD_NOT_ALLOWED', `${method} is not served here`);
    return serveStatic(files, url.pathname, res);
  }
  const unsafe = method !== 'GET' && method !== 'HEAD';
  if (unsafe && req.headers[CSRF_HEADER] !== '1') throw new WebRefusal(403, 'CSRF', `${method} needs the header ${CSRF_HEADER}: 1 (the console sends it)`);
  if (url.pathname === '/api/v1/login' && method === 'POST') return login(o, await readBody(req), res);
  if (url.pathname === '/api/v1/login-info' && method === 'GET') return send(res, 200, { ...(await o.run('LoginInfo', undefined, () => o.operations.LoginInfo())), browserLogin: oidc !== undefined });
  if (oidc && url.pathname === '/api/v1/login/oidc' && method === 'GET') return oidc.start(req, res, SECURITY_HEADERS);
  if (oidc && url.pathname === CALLBACK_PATH && method === 'GET') return oidcCallback(o, oidc, req, url.searchParams, res);
  if (url.pathname === '/api/v1/logout' && method === 'POST') return send(res, 200, {}, { 'set-cookie': sessionCookie('', 0) });
  const fromCookie = cookieOf(req, SESSION_COOKIE);
  const authorization = req.headers.authorization ?? (fromCookie ? `Bearer ${fromCookie}` : undefined);
  // Server-sent events: /api/v1/live/<a GET route> streams that route's answer each time it changes.
  if (method === 'GET' && url.pathname.startsWith('/api/v1/live/')) {
    const inner: Request = { method, path: `/api/v1/${url.pathname.slice('/api/v1/live/'.length)}`, query: url.searchParams, authorization, body: () => Promise.resolve({}) };
    const first = LIVE_ROUTES.test(inner.path) ? route(o, inner) : undefined;
    if (!first) throw new WebRefusal(404, 'NOT_FOUND', `no live ${inner.path}; live: sessions, sessions/:id, approvals`);
    // The first answer is awaited here, so a refusal is a plain HTTP error (the console then polls).
    const initial = await first;
    let given = false;
    const read = () => (given ? route(o, inner)! : ((given = true), Promise.resolve(initial)));
    const watched = /^\/api\/v1\/sessions(?:\/([^/]+))?$/.exec(inner.path);
    const feed = o.liveFeed && watched ? { source: o.liveFeed, sessionId: watched[1] ? decodeURIComponent(watched[1]) : ANY_SESSION } : undefined;
    if (!serveLive(req, res, { read, headers: SECURITY_HEADERS, log: o.log, ...(feed ? { feed } : {}) })) throw new WebRefusal(503, 'UNAVAILABLE', 'too many live streams: poll instead');
    return;
  }
  const answer = route(o, { method, path: url.pathname, query: url.searchParams, authorization, body: () => readBody(req) });
  if (!answer) throw new WebRefusal(404, 'NOT_FOUND', `no ${method} ${url.pathname}; the JSON API is under /api/v1 (sessions, approvals, query, dashboard, whoami)`);
  send(res, 200, await answer);
}

/** Starts the HTTPS listener of the console and its JSON API (config api.web). */
export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const files = o.consoleDir ? loadConsole(o.consoleDir, o.log) : undefined;
  const consoleClientId = o.login?.consoleClientId;
  const oidc = o.login && consoleClientId ? createOidcLogin({ ...o.login, consoleClientId }, o.log) : undefined;
  let key: Buffer, cert: Buffer;
  try {
    cert = readFileSync(o.tls.certFile);
    key = readFileSync(o.tls.keyFile);
  } catch (err) {
    throw new Error(`api.web.tls: cannot read ${(err as NodeJS.ErrnoException).path ?? 'the certificate'}: fix the path or create the file`, { cause: err });
  }
  const server: Server = createServer({ key, cert }, (req, res) => {
    handle(o, files, oidc, req, res).catch((err: unknown) => {
      if (!(err instanceof WebRefusal) && typeof (err as CallFailure).code !== 'number') o.log.error({ err, path: req.url }, 'web request failed');
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  o.log.info({ address: `https://${o.listen.host}:${address.port}/`, console: files ? o.consoleDir : 'not built' }, 'console listening');
  return {
    address,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
