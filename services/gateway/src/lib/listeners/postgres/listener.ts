import { randomUUID, type KeyObject } from 'node:crypto';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Config, Connection, PostgresConnection } from '@chaperone/config';
import { SessionChain, singleFrame } from '@chaperone/events';
import { AccessDeniedError, ConnectionAccess, IdentityError, type AgentIdentity, type TokenVerifier } from '@chaperone/identity';
import type { Logger } from '@chaperone/observability';
import {
  Backend,
  MessageReader,
  PgProtocolError,
  decodeBackendKeyData,
  encodeAuthentication,
  encodeCancelRequest,
  encodeErrorResponse,
  messageName,
  type PgMessage,
  type PgNotice,
} from '../../protocols/postgres/index.js';
import { AuthError, RecordingError, UpstreamError } from '../../errors.js';
import { FrameBuilder, SessionRecorder, type EventSink } from '../../recording/index.js';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import { acceptStartup, readToken } from './client-handshake.js';
import type { ApprovalGate } from '../../approvals/index.js';
import { PgProxySession } from './session.js';
import { cancelKey, type CancelBus } from './cancel-bus.js';
import { loginUpstream } from './upstream.js';
import type { PgMetrics } from './metrics.js';
import { errorMessage } from '@chaperone/observability';

export interface PgListenerDeps {
  config: Config;
  log: Logger;
  verifier: TokenVerifier;
  sink: EventSink;
  policy: { evaluate(input: PolicyInput): PolicyDecision };
  nodeKey: KeyObject;
  metrics: PgMetrics;
  /** Holds statements the policy sends to approval; without it they are refused. */
  approvals?: ApprovalGate;
  /** Carries CancelRequests to the node holding the session; without it a cancel reaches held statements of this node only. */
  cancels?: CancelBus;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;

/** Picks the connection: `dbname=<connection>`, or `user=<subject>@<connection>`. */
function resolveConnection(params: Record<string, string>, connections: Connection[]): { connection: PostgresConnection; user: string } {
  const rawUser = params.user ?? '';
  const at = rawUser.lastIndexOf('@');
  const byUser = at > 0 ? rawUser.slice(at + 1) : undefined;
  const name = byUser ?? params.database ?? '';
  const connection = connections.find((c): c is PostgresConnection => c.name === name && c.protocol === 'postgres');
  if (!connection) {
    const known = connections.filter((c) => c.protocol === 'postgres').map((c) => c.name);
    throw new AuthError('UNKNOWN_CONNECTION', `no PostgreSQL connection named "${name}"; use dbname=<connection>, one of: ${known.join(', ') || '(none configured)'}`);
  }
  return { connection, user: at > 0 ? rawUser.slice(0, at) : rawUser };
}

function noticeFor(err: unknown): { notice: PgNotice; code: string } {
  if (err instanceof AuthError) return { code: err.code, notice: { severity: 'FATAL', code: err.code === 'UNKNOWN_CONNECTION' ? '3D000' : '28000', message: `chaperone: ${err.message}` } };
  if (err instanceof IdentityError) return { code: err.code, notice: { severity: 'FATAL', code: '28P01', message: `chaperone: ${err.message}` } };
  if (err instanceof AccessDeniedError) return { code: err.code, notice: { severity: 'FATAL', code: '28000', message: `chaperone: ${err.message}` } };
  if (err instanceof UpstreamError) return { code: `UPSTREAM_${err.code}`, notice: { severity: 'FATAL', code: '08006', message: `chaperone: ${err.message}` } };
  if (err instanceof PgProtocolError) return { code: err.code, notice: { severity: 'FATAL', code: err.sqlState, message: `chaperone: ${err.message}` } };
  if (err instanceof RecordingError)
    return {
      code: `RECORDING_${err.code}`,
      notice: { severity: 'FATAL', code: '58000', message: `chaperone: recording is unavailable (${err.message}); the session was not opened and nothing was forwarded`, hint: 'retry shortly; if this persists, the gateway operators should check the Kafka cluster' },
    };
  return { code: 'INTERNAL', notice: { severity: 'FATAL', code: 'XX000', message: `chaperone: ${errorMessage(err)}` } };
}

/**
 * The PostgreSQL listener of a gateway node: TLS, token authentication, connection routing,
 * upstream login with injected credentials, then a recorded proxy session.
 */
export class PgListener {
  private server: Server | undefined;
  private readonly secureContext: SecureContext | undefined;
  readonly sessions = new Set<PgProxySession>();
  /** Sessions by the cancel key of their upstream backend (the BackendKeyData the client got). */
  private readonly byCancelKey = new Map<string, PgProxySession>();
  private readonly access: ConnectionAccess;

  constructor(private readonly deps: PgListenerDeps) {
    this.access = new ConnectionAccess(deps.config.access);
    const tls = deps.config.gateway.postgres.tls;
    this.secureContext = tls && createSecureContext({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: 'TLSv1.2' });
    deps.cancels?.onCancel((key) => this.cancelHeld(key, 'another node'));
  }

  async listen(host: string, port: number): Promise<number> {
    this.server = createServer({ noDelay: true }, (socket) => void this.handle(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return (this.server.address() as { port: number }).port;
  }

  /** Stops accepting; open sessions go on until `endAll`. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Ends one session of this node (an administrator's order): the client gets a FATAL
   * admin_shutdown (57P01) with `message`, the recording `reason` and `error`. False when the
   * session is not here.
   */
  endSessionById(sessionId: string, reason: string, error: string, message: string): boolean {
    const session = [...this.sessions].find((s) => s.sessionId === sessionId);
    if (!session) return false;
    void session.end(reason, error, { severity: 'FATAL', code: '57P01', message });
    return true;
  }

  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.end(reason, '', { severity: 'FATAL', code: '57P01', message: 'chaperone: the gateway node is shutting down; reconnect to continue' })));
  }

  private async handle(socket: Socket): Promise<void> {
    const { config, log, metrics } = this.deps;
    const clientAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.on('error', () => {});
    let stream: Duplex = socket;
    try {
      const pg = config.gateway.postgres;
      const hello = await acceptStartup(socket, {
        secureContext: this.secureContext,
        maxMessageBytes: pg.maxMessageBytes,
        maxStartupBytes: pg.maxStartupBytes,
        timeoutMs: HANDSHAKE_TIMEOUT_MS,
        onCancel: (pid, key) => this.forwardCancel(pid, key),
        onSecure: (secure) => (stream = secure),
      });
      // A cancel connection: closed the way it was opened — inside TLS (libpq ≥ 17 encrypts its
      // CancelRequest) with close_notify first, or libpq reports "SSL error: unexpected eof".
      if (!hello) return void stream.end();
      const token = await readToken(hello, HANDSHAKE_TIMEOUT_MS);
      const identity = await this.deps.verifier.verify(token);
      const { connection, user } = resolveConnection(hello.params, config.connections);
      if (user !== identity.subject)
        throw new AuthError('SUBJECT_MISMATCH', `user "${user}" does not match the token's subject "${identity.subject}"; connect with user=${identity.subject}`);
      this.access.check(connection.name, identity);
      const upstream = await loginUpstream(connection.postgres, hello.params, pg.maxMessageBytes);
      await this.startSession(hello.stream, hello.conn.detach(), hello.conn.reader, upstream, identity, connection, clientAddress, hello.tls, hello.params);
    } catch (err) {
      const { notice, code } = noticeFor(err);
      metrics.authFailures.inc({ code });
      log.info({ client: clientAddress, code, err }, 'connection refused');
      if (!stream.destroyed) stream.end(encodeErrorResponse(notice));
      // end() never completes on a TLS socket whose handshake has not happened (SSLRequest followed by plain bytes), nor against a peer that never closes.
      setTimeout(() => stream.destroy(), 1000).unref();
    }
  }

  /**
   * Records the session's start — SessionStarted, the redacted upstream login, and the greeting the
   * client is about to read — and waits for the event log to acknowledge it.
   */
  private async recordStart(
    sessionId: string,
    upstream: Awaited<ReturnType<typeof loginUpstream>>,
    identity: AgentIdentity,
    connection: PostgresConnection,
    clientAddress: string,
    tls: boolean,
    params: Record<string, string>,
  ): Promise<{ recorder: SessionRecorder; hello: { bytes: Buffer } }> {
    const { config } = this.deps;
    const recorder = new SessionRecorder(new SessionChain(sessionId, config.nodeId), this.deps.sink, { ackTimeoutMs: config.kafka.ackTimeoutMs, lingerMs: config.kafka.lingerMs, maxBatchBytes: config.kafka.maxRecordBytes });
    recorder.append({
      type: 'SessionStarted',
      identity: { subject: identity.subject, issuer: identity.issuer, groups: identity.groups, tokenId: identity.tokenId, claimsJson: JSON.stringify(identity.claims) },
      connection: connection.name,
      protocol: 'postgres',
      clientAddress,
      tls,
      attributesJson: JSON.stringify({ database: connection.postgres.database, application_name: params.application_name ?? '', labels: connection.labels }),
    });
    // The upstream login carried injected credentials: record that it happened, never its bytes.
    recorder.append(singleFrame('SERVER_TO_CLIENT', 'pg.upstream.auth', Buffer.from('[upstream authentication exchange redacted]'), { redacted: true }));
    // What the client reads after its own authentication: our AuthenticationOk (its bytes are
    // not the upstream's, which stay redacted above) and the upstream's greeting, in one write.
    const greeting = new FrameBuilder('SERVER_TO_CLIENT');
    greeting.add('AuthenticationOk', encodeAuthentication({ type: 'ok' }));
    for (const m of upstream.greeting) greeting.add(messageName('server', m.code, m.payload), m.frame);
    const hello = greeting.take()!;
    recorder.append(hello.frame);
    try {
      await recorder.flush();
    } catch (err) {
      upstream.socket.destroy();
      throw err;
    }
    return { recorder, hello };
  }

  private async startSession(
    client: Duplex,
    pending: PgMessage[],
    clientReader: MessageReader,
    upstream: Awaited<ReturnType<typeof loginUpstream>>,
    identity: AgentIdentity,
    connection: PostgresConnection,
    clientAddress: string,
    tls: boolean,
    params: Record<string, string>,
  ): Promise<void> {
    const { config, log, metrics } = this.deps;
    const sessionId = randomUUID();
    const { recorder, hello } = await this.recordStart(sessionId, upstream, identity, connection, clientAddress, tls, params);
    const upstreamRest = upstream.conn.detach();
    const session = new PgProxySession(
      client,
      upstream.socket,
      recorder,
      { sessionId, clientAddress, nodeId: config.nodeId, identity, connection, policy: this.deps.policy },
      { nodeKey: this.deps.nodeKey, maxInFlightBytes: config.kafka.maxInFlightBytes, maxMessageBytes: config.gateway.postgres.maxMessageBytes, idleTimeoutMs: config.gateway.postgres.idleTimeoutMs, log, metrics, ...(this.deps.approvals ? { approvals: this.deps.approvals } : {}) },
      { client: clientReader, server: upstream.conn.reader },
    );
    this.sessions.add(session);
    const keyData = upstream.greeting.find((m) => m.code === Backend.BackendKeyData);
    const kd = keyData && decodeBackendKeyData(keyData.payload);
    const key = kd && cancelKey(kd.processId, kd.secretKey);
    if (key) this.byCancelKey.set(key, session);
    metrics.sessionsActive.inc();
    log.info({ session: sessionId, subject: identity.subject, connection: connection.name, client: clientAddress }, 'session started');
    client.write(hello.bytes);
    if (upstreamRest.length > 0) {
      // Anything the upstream sent right after its greeting (e.g. a NOTICE) is recorded too.
      const rest = new FrameBuilder('SERVER_TO_CLIENT');
      for (const m of upstreamRest) rest.add(messageName('server', m.code, m.payload), m.frame);
      const taken = rest.take()!;
      recorder.append(taken.frame);
      client.write(taken.bytes);
    }
    session.start(pending);
    const expiry = this.endAtExpiry(session, identity);
    const reason = await session.done;
    clearTimeout(expiry);
    this.sessions.delete(session);
    if (key) this.byCancelKey.delete(key);
    metrics.sessionsActive.dec();
    metrics.sessions.inc({ result: reason });
    log.info({ session: sessionId, reason, ...session.counters }, 'session ended');
  }

  /**
   * A session lives no longer than its token: at `exp` + identity.sessionGrace the statement in
   * flight finishes, then the session ends with a FATAL saying why (recorded in SessionEnded).
   */
  private endAtExpiry(session: PgProxySession, identity: AgentIdentity): NodeJS.Timeout {
    const graceMs = this.deps.config.identity.sessionGraceMs;
    const at = identity.expiresAt + graceMs;
    const message = `chaperone: the session's token expired at ${new Date(identity.expiresAt).toISOString()}${graceMs ? ` (grace ${graceMs / 1000} s)` : ''}; reconnect with a fresh token`;
    return setTimeout(() => session.endWhenIdle('token-expired', message, { severity: 'FATAL', code: '28000', message }), Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1));
  }

  /** Ends the wait for approval of the session with this cancel key, if it is on this node and waiting. */
  private cancelHeld(key: string, via: string): boolean {
    const session = this.byCancelKey.get(key);
    if (!session?.cancelHeld()) return false;
    this.deps.log.info({ via }, 'cancel request ended a wait for approval');
    return true;
  }

  /**
   * A CancelRequest carries only the backend pid and key (protocol 3.0, no session identity)
   * and may arrive at any node behind the load balancer. A statement waiting for approval is
   * cancelled on the node holding it (this one, or another told through the cancel bus); a
   * running one upstream: the request goes to every PostgreSQL upstream, and the one that owns
   * the pid checks the key, the others ignore it (as does an idle backend).
   */
  private forwardCancel(processId: number, secretKey: number): void {
    const key = cancelKey(processId, secretKey);
    if (!this.byCancelKey.has(key) && this.deps.cancels)
      this.deps.cancels.publish(key).catch((e: Error) => this.deps.log.warn({ err: e }, 'publishing a cancel request to the other nodes failed'));
    else this.cancelHeld(key, 'this node');
    const seen = new Set<string>();
    for (const c of this.deps.config.connections) {
      const up = c.postgres;
      if (!up || seen.has(`${up.host}:${up.port}`)) continue;
      seen.add(`${up.host}:${up.port}`);
      const s = netConnect({ host: up.host, port: up.port }, () => s.end(encodeCancelRequest(processId, secretKey)));
      s.on('error', (e) => this.deps.log.warn({ err: e, upstream: c.name }, 'forwarding a cancel request failed'));
    }
    this.deps.log.info({ pid: processId }, 'cancel request forwarded');
  }
}
