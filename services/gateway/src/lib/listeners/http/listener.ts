import { randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Config } from '@chaperone/config';
import { SessionChain, singleFrame } from '@chaperone/events';
import { AccessDeniedError, ConnectionAccess, IdentityError, type AgentIdentity, type TokenVerifier } from '@chaperone/identity';
import type { Logger } from '@chaperone/observability';
import { HttpProtocolError, checkPathForKind, checkRequestHead, hostName, parseAgentAuthorization, parseTarget, selectRoute, type Route } from '../../protocols/http/index.js';
import { RecordingError, SessionEndedError, UpstreamError } from '../../errors.js';
import { SessionRecorder, type EventSink } from '../../recording/index.js';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import type { ApprovalGate } from '../../approvals/index.js';
import { analyze } from './analyze.js';
import { credentialSource, type CredentialSource } from './credentials.js';
import { runExchange } from './exchange.js';
import type { Exchange, ExchangeDeps } from './exchange-types.js';
import type { McpToolPins } from './analyze-mcp.js';
import { H2Request, asIncomingMessage, asServerResponse, checkH2Head, clientConnection, h2ServerOptions, type ClientConnection, type H2Response } from './h2.js';
import type { HttpMetrics } from './metrics.js';
import { ConnectionGuard, guardOf, type GuardHooks } from './guard.js';
import { policyRefusal, refusal, sendRefusal } from './refuse.js';
import { HttpSession } from './session.js';
import { isHttpConnection, type HttpConnection, type Kind } from './types.js';
import { handleUpgrade } from './upgrade.js';
import { UpstreamPool, apiPath } from './upstream.js';
import { errorMessage } from '@chaperone/observability';

export interface HttpListenerDeps {
  config: Config;
  log: Logger;
  verifier: TokenVerifier;
  sink: EventSink;
  policy: { evaluate(input: PolicyInput): PolicyDecision };
  nodeKey: KeyObject;
  metrics: HttpMetrics;
  /** Holds requests the policy sends to approval (approval.ts); without it they are refused. */
  approvals?: ApprovalGate;
  /** The MCP tool registry (pinned tool definitions, analyze-mcp.ts). */
  mcpTools?: McpToolPins;
}

/** Per client connection (a socket, or an HTTP/2 session): its sessions (one per connection × identity) and verified tokens. */
interface SocketState {
  sessions: Map<string, HttpSession>;
  tokens: Map<string, AgentIdentity>;
  clientAddress: string;
  clientIp: string;
  tls: boolean;
  conn: ClientConnection;
  /** When the newest token this connection carried stops being good, grace included (ms since the epoch): then the connection ends. */
  closeAt: number;
  expiry: NodeJS.Timeout | undefined;
}

/** A request as the handlers take it: HTTP/1.1 from Node's parser, or HTTP/2 through the compatibility API. */
type AgentRequest = IncomingMessage | H2Request;

const MAX_TOKENS_PER_SOCKET = 16;

/**
 * The HTTP reverse-proxy listener of a gateway node: TLS, request checks, token authentication,
 * routing by host and path prefix to a configured connection, protocol analysis (REST, git,
 * OCI, Kubernetes), policy decision, credential injection and a recorded, streamed exchange.
 */
export class HttpListener {
  private server: Server | Http2SecureServer | undefined;
  /** Open HTTP/2 sessions, told to go away (GOAWAY) when the listener closes. */
  private readonly h2Sessions = new Set<ServerHttp2Session>();
  private draining = false;
  private readonly pool = new UpstreamPool();
  private readonly creds = new Map<string, CredentialSource>();
  private readonly routes: Route<HttpConnection>[];
  private readonly access: ConnectionAccess;
  private readonly sockets = new Map<object, SocketState>();
  readonly sessions = new Set<HttpSession>();
  private readonly exchangeDeps: ExchangeDeps;

  constructor(private readonly deps: HttpListenerDeps) {
    this.access = new ConnectionAccess(deps.config.access);
    const conns = deps.config.connections.filter(isHttpConnection);
    this.routes = conns.map((c) => ({ hosts: c.http.hosts, prefix: c.http.pathPrefix, value: c }));
    this.exchangeDeps = {
      log: deps.log,
      metrics: deps.metrics,
      pool: this.pool,
      policy: deps.policy,
      credentials: (c) => this.credentialsFor(c),
      maxBodyBytes: this.settings.maxBodyBytes,
      maxInFlightBytes: deps.config.kafka.maxInFlightBytes,
      ...(deps.approvals ? { approvals: deps.approvals } : {}),
      httpHoldMs: deps.config.approvals.httpHoldMs,
      ...(deps.mcpTools ? { mcpTools: deps.mcpTools } : {}),
    };
  }

  private get settings(): NonNullable<Config['gateway']['httpProxy']> {
    const s = this.deps.config.gateway.httpProxy;
    if (!s) throw new Error('gateway.httpProxy is not configured');
    return s;
  }

  private credentialsFor(c: HttpConnection): CredentialSource {
    let s = this.creds.get(c.name);
    if (!s) this.creds.set(c.name, (s = credentialSource(c, this.pool, this.deps.log)));
    return s;
  }

  async listen(host: string, port: number): Promise<number> {
    const s = this.settings;
    const options: ServerOptions = {
      maxHeaderSize: s.maxHeaderBytes,
      requireHostHeader: true,
      insecureHTTPParser: false,
      keepAliveTimeout: s.keepAliveTimeoutMs,
      headersTimeout: s.headersTimeoutMs,
      // Multi-GB pushes and pulls take long; idleness is bounded by the socket timeout instead.
      requestTimeout: 0,
      noDelay: true,
    };
    this.server = !s.tls ? createHttpServer(options) : s.h2.enabled ? this.createH2Server(s, options) : createHttpsServer({ ...options, ...tlsOptions(s.tls), ALPNProtocols: ['http/1.1'] });
    this.server.setTimeout(s.idleTimeoutMs);
    // Every HTTP/1.1 connection gets its guard (guard.ts) right after Node attached its parser:
    // the gateway's framer sees each byte first, and requests are served in order, none after a refusal.
    const limits = { maxHeadBytes: s.maxHeaderBytes, maxFields: s.maxHeaderFields, maxBodyBytes: s.maxBodyBytes };
    const hooks: GuardHooks = { handle: (req, res, c) => this.handle(req, res, c), refuse: (socket, err) => this.refuseFraming(socket, err), headTimeoutMs: s.headersTimeoutMs };
    this.server.on(s.tls ? 'secureConnection' : 'connection', (socket: Duplex) => ConnectionGuard.attach(socket, limits, hooks));
    this.server.on('request', (req: AgentRequest, res: ServerResponse | H2Response) => this.dispatch(req, res, false));
    // Registering checkContinue stops Node from answering 100 itself: the gateway first
    // authenticates and routes, so a refused upload is never sent (RFC 9110 §10.1.1). HTTP/2
    // clients (curl) send Expect too; the compatibility API routes it here the same way.
    this.server.on('checkContinue', (req: AgentRequest, res: ServerResponse | H2Response) => this.dispatch(req, res, true));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as { port: number }).port;
  }

  /**
   * TLS with ALPN `h2` and `http/1.1`: HTTP/2 for the clients that offer it, HTTP/1.1 (and
   * upgrades, which HTTP/2 clients make over a separate HTTP/1.1 connection as RFC 8441 is not
   * offered) for the rest, served by the same handlers as the plain HTTP/1.1 server.
   */
  private createH2Server(s: NonNullable<Config['gateway']['httpProxy']>, options: ServerOptions): Http2SecureServer {
    const server = createSecureServer({ ...h2ServerOptions(s), ...tlsOptions(s.tls!) }) as unknown as Http2SecureServer;
    // The HTTP/1.1 connections of this server run Node's HTTP/1.1 connection handling, which
    // reads these options from the server object (http.Server sets them in its constructor).
    Object.assign(server, { maxHeaderSize: options.maxHeaderSize, requireHostHeader: true, insecureHTTPParser: false, keepAliveTimeout: options.keepAliveTimeout, headersTimeout: options.headersTimeout, requestTimeout: 0 });
    server.on('session', (session: ServerHttp2Session) => {
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      if (this.draining) session.close();
    });
    server.on('sessionError', (err: Error) => this.deps.log.info({ err }, 'http/2 session error'));
    return server;
  }

  /** Stops accepting and closes idle keep-alive connections; busy ones finish their exchange. */
  async close(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    // Http2SecureServer has it too (for its HTTP/1.1 connections), its typings notwithstanding.
    (this.server as Server | undefined)?.closeIdleConnections();
    // GOAWAY: HTTP/2 clients open no new streams here; the open ones finish (RFC 9113 §6.8).
    for (const session of this.h2Sessions) session.close();
    // close() resolves only when every connection is gone; the node's drain loop watches `sessions`.
    void closed;
    return Promise.resolve();
  }

  async endAll(reason: string): Promise<void> {
    const ends = [...this.sessions].map((s) => s.end(reason, '', 1000));
    for (const st of this.sockets.values()) st.conn.destroy();
    for (const session of this.h2Sessions) session.destroy();
    await Promise.all(ends);
    this.pool.destroy();
  }

  /**
   * Ends one session of this node (an administrator's order): it is sealed with `reason` and
   * `error`, and its agent is told `notice` (issue #16): a request under way that has no answer
   * yet gets a 403 with it and `Connection: close` (on HTTP/2, GOAWAY after the answers), a
   * response already streaming and an exec tunnel are cut, and an idle keep-alive connection
   * answers its next request with the same 403 and closes. False when the session is not here.
   */
  endSessionById(sessionId: string, reason: string, error: string, notice = `chaperone: an administrator ended this session (${error})`): boolean {
    const session = [...this.sessions].find((s) => s.info.sessionId === sessionId);
    if (!session) return false;
    // The answers are recorded before the seal, which is this reason and not 'client-closed'.
    session.endByAdmin(notice);
    void this.endSession(session, reason, error, 1000);
    for (const st of this.sockets.values()) if (st.conn.h2 && [...st.sessions.values()].includes(session)) st.conn.endWhenIdle();
    return true;
  }

  /** Answers a request under way on a session an administrator ended (see endSessionById). */
  private answerEnded(x: Pick<Exchange, 'session' | 'res' | 'kind' | 'analysis' | 'commandId'>, notice: string): void {
    const { res } = x;
    if (res.headersSent || res.destroyed) return void res.destroy();
    this.deps.metrics.requests.inc({ kind: x.kind, result: 'session-ended' });
    sendRefusal(res, x.analysis.refuseAll?.(403, notice) ?? refusal(x.kind, 403, notice), { session: x.session, close: true, commandId: x.commandId ?? 0 });
  }

  private stateFor(req: AgentRequest): SocketState {
    const conn = clientConnection(req);
    let st = this.sockets.get(conn.key);
    if (!st) {
      const ip = conn.remoteAddress;
      st = { sessions: new Map(), tokens: new Map(), clientAddress: `${ip}:${conn.remotePort}`, clientIp: ip, tls: conn.tls, conn, closeAt: 0, expiry: undefined };
      this.sockets.set(conn.key, st);
      const state = st;
      conn.onClose(() => {
        if (state.expiry) clearTimeout(state.expiry);
        this.sockets.delete(conn.key);
        for (const session of state.sessions.values()) void this.endSession(session, 'client-closed');
      });
    }
    return st;
  }

  private async endSession(session: HttpSession, reason: string, error = '', graceMs?: number): Promise<void> {
    await session.end(reason, error, graceMs);
    if (this.sessions.delete(session)) {
      this.deps.metrics.sessionsActive.dec();
      this.deps.metrics.sessions.inc({ result: reason });
      this.deps.log.info({ session: session.info.sessionId, reason, ...session.counters }, 'session ended');
    }
  }

  private async identify(st: SocketState, token: string): Promise<AgentIdentity> {
    const known = st.tokens.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    const identity = await this.deps.verifier.verify(token);
    if (st.tokens.size >= MAX_TOKENS_PER_SOCKET) st.tokens.clear();
    st.tokens.set(token, identity);
    this.endAtExpiry(st, identity);
    return identity;
  }

  /**
   * A keep-alive connection lives no longer than the newest token it carried: at its exp +
   * identity.sessionGrace the connection ends once the request under way is answered (a request
   * with a fresh token before then moves the end).
   */
  private endAtExpiry(st: SocketState, identity: AgentIdentity): void {
    const at = identity.expiresAt + this.deps.config.identity.sessionGraceMs;
    if (at <= st.closeAt) return;
    st.closeAt = at;
    if (st.expiry) clearTimeout(st.expiry);
    st.expiry = setTimeout(() => st.conn.endWhenIdle(), Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1)).unref();
  }

  private sessionFor(st: SocketState, req: AgentRequest, conn: HttpConnection, identity: AgentIdentity): HttpSession {
    const key = `${conn.name}\0${identity.subject}`;
    const existing = st.sessions.get(key);
    // A session an administrator ended stays, so that its next request is refused with the reason (handle).
    if (existing && (!existing.isEnded || existing.endedByAdmin !== undefined)) return existing;
    const { config, log, metrics } = this.deps;
    const sessionId = randomUUID();
    const recorder = new SessionRecorder(new SessionChain(sessionId, config.nodeId), this.deps.sink, { ackTimeoutMs: config.kafka.ackTimeoutMs, lingerMs: config.kafka.lingerMs, maxBatchBytes: config.kafka.maxRecordBytes });
    const session = new HttpSession({ sessionId, nodeId: config.nodeId, clientAddress: st.clientAddress, identity, connection: conn }, recorder, { nodeKey: this.deps.nodeKey, log, metrics });
    recorder.on('failed', (err: RecordingError) => {
      log.warn({ session: sessionId, err }, 'recording failed; closing the client connection');
      st.conn.destroy();
    });
    recorder.append({
      type: 'SessionStarted',
      identity: { subject: identity.subject, issuer: identity.issuer, groups: identity.groups, tokenId: identity.tokenId, claimsJson: JSON.stringify(identity.claims) },
      connection: conn.name,
      protocol: conn.http.kind === 'rest' ? 'http' : conn.http.kind,
      clientAddress: st.clientAddress,
      tls: st.tls,
      attributesJson: JSON.stringify({ kind: conn.http.kind, upstream: conn.http.url.host, host: req.headers.host ?? '', userAgent: req.headers['user-agent'] ?? '', labels: conn.labels, httpVersion: req.httpVersion }),
    });
    // Injected upstream credentials are never recorded: a marker says that they were used.
    if (conn.http.credentials.type !== 'none')
      recorder.append(singleFrame('CLIENT_TO_SERVER', 'http.upstream.auth', Buffer.from(`[upstream credentials injected: ${conn.http.credentials.type}]`), { redacted: true }));
    st.sessions.set(key, session);
    this.sessions.add(session);
    metrics.sessionsActive.inc();
    log.info({ session: sessionId, subject: identity.subject, connection: conn.name, client: st.clientAddress }, 'session started');
    return session;
  }

  /** HTTP/1.1 requests go through their connection's guard, one at a time; HTTP/2 streams run at once. */
  private dispatch(req: AgentRequest, res: ServerResponse | H2Response, expectContinue: boolean): void {
    const guard = req instanceof H2Request ? undefined : guardOf(req.socket);
    if (guard) guard.run(req as IncomingMessage, res as ServerResponse, expectContinue);
    else if (req instanceof H2Request) void this.handle(req, res, expectContinue);
    // An HTTP/1.1 request on a connection without a guard cannot be trusted to be framed right.
    else req.socket.destroy();
  }

  /** Checks, authenticates and routes a request head; the exchange itself runs in the session. */
  private async admit(req: AgentRequest): Promise<{ session: HttpSession; conn: HttpConnection; st: SocketState; target: ReturnType<typeof parseTarget>; routedPath: string; prefix: string | undefined; identity: AgentIdentity }> {
    // An HTTP/1.1 head was checked byte by byte by the connection's framer (guard.ts).
    if (req instanceof H2Request) {
      checkH2Head(req, this.settings);
      checkRequestHead(req.rawHeaders, this.settings.maxBodyBytes);
    }
    const target = parseTarget(req.url ?? '', req.method ?? '');
    const creds = parseAgentAuthorization(req.headers.authorization);
    const st = this.stateFor(req);
    const identity = await this.identify(st, creds.token);
    const match = selectRoute(this.routes, hostName(req.headers.host), target.path);
    if (!match) throw new HttpProtocolError('NO_ROUTE', `no connection serves host ${hostName(req.headers.host) || '(none)'} path ${target.path}`);
    checkPathForKind(target.path, match.value.http.kind);
    this.access.check(match.value.name, identity);
    return { session: this.sessionFor(st, req, match.value, identity), conn: match.value, st, target, routedPath: apiPath(match.value, match.rest, target.path), prefix: match.prefix, identity };
  }

  private async handle(agentReq: AgentRequest, agentRes: ServerResponse | H2Response, expectContinue: boolean): Promise<void> {
    if (agentRes.destroyed) return;
    // The exchange is written against Node's HTTP/1.1 objects; the HTTP/2 ones present the same surface (h2.ts).
    const req = agentReq instanceof H2Request ? asIncomingMessage(agentReq) : agentReq;
    const res = agentReq instanceof H2Request ? asServerResponse(agentRes as H2Response) : (agentRes as ServerResponse);
    if (this.draining) res.shouldKeepAlive = false;
    let kind: Kind = 'rest';
    let session: HttpSession | undefined;
    try {
      const a = await this.admit(agentReq);
      session = a.session;
      kind = a.conn.http.kind;
      if (session.endedByAdmin !== undefined) throw new SessionEndedError(session.endedByAdmin);
      const analysis = analyze(kind, { method: req.method ?? 'GET', target: a.target, routedPath: a.routedPath, headers: req.headers });
      if (expectContinue) res.writeContinue();
      const publicBase = `${a.st.tls ? 'https' : 'http'}://${req.headers.host ?? ''}`;
      const x: Exchange = { session, req, res, conn: a.conn, kind, analysis, routedPath: a.routedPath, path: a.target.path, query: a.target.query, publicBase, routePrefix: a.prefix, clientIp: a.st.clientIp, tls: a.st.tls };
      const off = session.onAdminEnd((notice) => this.answerEnded(x, notice));
      try {
        await session.track(runExchange(x, this.exchangeDeps, policyRefusal));
      } finally {
        off();
      }
      // An MCP session deleted by its client (DELETE, Mcp-Session-Id) ends its recorded session too.
      if (analysis.endsSession && res.statusCode < 300 && !session.isEnded) void this.endSession(session, 'mcp-session-deleted');
    } catch (err) {
      this.fail(err, req, res, kind, session, expectContinue);
      // HTTP/2 after the answer: GOAWAY, so the client opens no more streams on an ended session's connection.
      if (err instanceof SessionEndedError && agentReq instanceof H2Request) clientConnection(agentReq).endWhenIdle();
    }
  }

  private fail(err: unknown, req: IncomingMessage, res: ServerResponse, kind: Kind, session: HttpSession | undefined, unreadBody: boolean): void {
    const { log, metrics } = this.deps;
    const close = unreadBody || !req.readableEnded;
    if (err instanceof HttpProtocolError || err instanceof IdentityError || err instanceof AccessDeniedError) {
      const status = err instanceof HttpProtocolError ? err.status : err instanceof AccessDeniedError ? 403 : 401;
      metrics.refused.inc({ code: err.code });
      log.info({ client: req.socket.remoteAddress, code: err.code, err, method: req.method, path: (req.url ?? '').slice(0, 200) }, 'request refused');
      // A refused token also ends the keep-alive connection (an expired token's socket stays no longer).
      return sendRefusal(res, refusal(kind, status, err.message), { session, close: close || status === 401, challenge: status === 401 });
    }
    if (err instanceof SessionEndedError) {
      metrics.requests.inc({ kind, result: 'session-ended' });
      // The session is sealed: the answer is not recorded; the connection closes after it (HTTP/2: GOAWAY).
      return sendRefusal(res, refusal(kind, 403, err.message), { close: true });
    }
    if (err instanceof RecordingError) {
      metrics.requests.inc({ kind, result: 'recording-failed' });
      return sendRefusal(res, refusal(kind, 503, `recording is unavailable (${err.message}); nothing was forwarded, retry shortly`), { close: true });
    }
    if (err instanceof UpstreamError) {
      metrics.requests.inc({ kind, result: 'upstream-error' });
      log.warn({ err, code: err.code }, 'upstream credentials unavailable');
      return sendRefusal(res, refusal(kind, 502, err.message), { session, close });
    }
    metrics.requests.inc({ kind, result: 'error' });
    log.error({ err }, 'http exchange failed');
    sendRefusal(res, refusal(kind, 500, `internal error: ${errorMessage(err)}`), { session, close: true });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      // Pipelined requests before the upgrade are served first; after a refusal it is not served.
      const guard = guardOf(socket);
      if (!guard || !(await guard.idle())) return void socket.destroy();
      const a = await this.admit(req);
      if (a.session.endedByAdmin !== undefined) throw new SessionEndedError(a.session.endedByAdmin);
      // A tunnel (kubectl exec) lives no longer than its token: closed at exp + identity.sessionGrace.
      const expiry = setTimeout(() => socket.destroy(), Math.min(Math.max(0, a.identity.expiresAt + this.deps.config.identity.sessionGraceMs - Date.now()), 2 ** 31 - 1));
      socket.once('close', () => clearTimeout(expiry));
      // An administrator ending the session cuts the tunnel (an exec session has no next request to answer).
      const off = a.session.onAdminEnd(() => socket.destroy());
      socket.once('close', off);
      await a.session.track(handleUpgrade({ session: a.session, req, socket, head, conn: a.conn, target: a.target, routedPath: a.routedPath, clientIp: a.st.clientIp, tls: a.st.tls }, this.exchangeDeps));
    } catch (err) {
      const status = err instanceof HttpProtocolError ? err.status : err instanceof IdentityError ? 401 : err instanceof AccessDeniedError || err instanceof SessionEndedError ? 403 : err instanceof RecordingError ? 503 : 502;
      this.deps.metrics.refused.inc({ code: (err as { code?: string }).code ?? 'ERROR' });
      this.deps.log.info({ err }, 'upgrade refused');
      if (!socket.destroyed) socket.end(rawResponse(status, `chaperone: ${errorMessage(err)}`, status === 401));
    }
  }

  /** Requests Node's parser rejects (bad chunking, oversized or malformed heads) end here. */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const guard = guardOf(socket);
    guard?.markRefused();
    // The gateway's framer refused a chunked body (guard.ts provoked this parser error): say why.
    if (guard?.violation) return this.refuseFraming(socket, guard.violation);
    const code = err.code ?? 'HPE_ERROR';
    // Only an HTTP/1.1 parser error or timeout gets an HTTP answer; the HTTP/2 server also
    // reports failed TLS handshakes here (tlsClientError), where nothing can be said.
    if (!code.startsWith('HPE_') && !code.startsWith('ERR_HTTP_')) return void socket.destroy();
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.answerMalformed(socket, status, code, `chaperone: malformed request (${code}): ${err.message}`, err.message);
  }

  /** A request the connection's framer refused (guard.ts): nothing of it reached the handlers. */
  private refuseFraming(socket: Duplex, err: HttpProtocolError): void {
    // The response before it may still be flushing: the refusal follows it, in order.
    const pending = (socket as unknown as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (pending && !pending.writableFinished && !socket.destroyed) return void pending.once('finish', () => setImmediate(() => this.refuseFraming(socket, err)));
    this.answerMalformed(socket, err.status, err.code, `chaperone: ${err.message}`, err.message);
  }

  private answerMalformed(socket: Duplex, status: number, code: string, text: string, message: string): void {
    this.deps.metrics.refused.inc({ code });
    this.deps.log.info({ code, err: message, client: (socket as { remoteAddress?: string }).remoteAddress }, 'malformed request refused');
    const busy = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (socket.writable && !busy) socket.end(rawResponse(status, text, false));
    else socket.destroy();
  }
}

function tlsOptions(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: 'TLSv1.2' };
}

function rawResponse(status: number, text: string, challenge: boolean): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
    (challenge ? 'WWW-Authenticate: Basic realm="chaperone", charset="UTF-8"\r\n' : '') +
    `\r\n${body}`
  );
}
