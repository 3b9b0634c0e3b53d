import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PostgresUpstream } from '@chaperone/config';
import {
  Backend,
  MessageReader,
  ScramClient,
  decodeAuthentication,
  decodeErrorFields,
  encodePasswordMessage,
  encodeSaslInitialResponse,
  encodeSaslResponse,
  encodeSSLRequest,
  encodeStartupMessage,
  md5Password,
  type PgMessage,
} from '../../protocols/postgres/index.js';
import { UpstreamError } from '../../errors.js';
import { FramedConn } from './framed-conn.js';

/** Client startup parameters passed through to the upstream (never user/database/options). */
const PASSTHROUGH = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'extra_float_digits', 'search_path', 'IntervalStyle'];

export interface UpstreamSession {
  socket: Socket;
  conn: FramedConn;
  /** ParameterStatus, BackendKeyData, NoticeResponse… and the final ReadyForQuery, to relay to the client. */
  greeting: PgMessage[];
}

const LOGIN_TIMEOUT_MS = 10_000;

/**
 * Largest upstream message (e.g. one DataRow) relayed. Each is recorded as one event, so it
 * matches the event log's per-message limit that deploy/local sets (Kafka message.max.bytes).
 */
export const UPSTREAM_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

async function open(up: PostgresUpstream): Promise<Socket> {
  const raw = netConnect({ host: up.host, port: up.port });
  raw.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', (e) => reject(new UpstreamError('CONNECT_FAILED', `cannot reach upstream ${up.host}:${up.port}: ${e.message}`)));
  });
  if (!up.tls) return raw;
  raw.write(encodeSSLRequest());
  const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  if (answer[0] !== 0x53) throw new UpstreamError('CONNECT_FAILED', `upstream ${up.host}:${up.port} does not accept TLS`);
  const secure = tlsConnect({ socket: raw, servername: up.host });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', (e: Error) => reject(new UpstreamError('CONNECT_FAILED', `TLS to upstream failed: ${e.message}`)));
  });
  return secure;
}

/**
 * Logs into the upstream with the connection's injected credentials (SCRAM-SHA-256, md5 or
 * cleartext, as the server asks). The exchange is never relayed to the agent or recorded
 * verbatim: the session records a redacted marker instead.
 */
export async function loginUpstream(up: PostgresUpstream, clientParams: Record<string, string>, maxMessageBytes: number): Promise<UpstreamSession> {
  const socket = await open(up);
  const conn = new FramedConn(socket, new MessageReader({ maxMessageBytes: Math.max(maxMessageBytes, UPSTREAM_MAX_MESSAGE_BYTES) }));
  try {
    const params: Record<string, string> = { user: up.user, database: up.database };
    for (const k of PASSTHROUGH) if (clientParams[k] !== undefined) params[k] = clientParams[k];
    // Any GUC may be set in the StartupMessage; in ms, so no unit parsing upstream. A client
    // may still SET it in its session: the policy decides whether it may (SET statement_timeout).
    if (up.statementTimeoutMs !== undefined) params.statement_timeout = String(up.statementTimeoutMs);
    socket.write(encodeStartupMessage(params));
    await authenticate(conn, up);
    const greeting: PgMessage[] = [];
    for (;;) {
      const m = await conn.next(LOGIN_TIMEOUT_MS, 'the upstream greeting');
      if (m.code === Backend.ErrorResponse) throw new UpstreamError('AUTH_FAILED', `upstream refused the session: ${decodeErrorFields(m.payload).M ?? 'error'}`);
      greeting.push(m);
      if (m.code === Backend.ReadyForQuery) break;
    }
    return { socket, conn, greeting };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

async function authenticate(conn: FramedConn, up: PostgresUpstream): Promise<void> {
  const password = up.password ?? '';
  let scram: ScramClient | undefined;
  for (;;) {
    const m = await conn.next(LOGIN_TIMEOUT_MS, 'the upstream authentication');
    if (m.code === Backend.ErrorResponse) throw new UpstreamError('AUTH_FAILED', `upstream login as ${up.user} failed: ${decodeErrorFields(m.payload).M ?? 'error'}`);
    if (m.code !== Backend.Authentication) throw new UpstreamError('PROTOCOL', `unexpected upstream message ${String.fromCharCode(m.code)} during login`);
    const req = decodeAuthentication(m.payload);
    switch (req.type) {
      case 'ok':
        return;
      case 'cleartext':
        conn.stream.write(encodePasswordMessage(password));
        break;
      case 'md5':
        conn.stream.write(encodePasswordMessage(md5Password(up.user, password, req.salt)));
        break;
      case 'sasl':
        if (!req.mechanisms.includes('SCRAM-SHA-256'))
          throw new UpstreamError('AUTH_UNSUPPORTED', `upstream offers only ${req.mechanisms.join(', ')}`);
        scram = new ScramClient(up.user, password);
        conn.stream.write(encodeSaslInitialResponse('SCRAM-SHA-256', scram.clientFirstMessage()));
        break;
      case 'sasl-continue':
        if (!scram) throw new UpstreamError('PROTOCOL', 'SASL continue before SASL start');
        conn.stream.write(encodeSaslResponse(await scram.handleServerFirstAsync(req.data.toString('utf8'))));
        break;
      case 'sasl-final':
        if (!scram) throw new UpstreamError('PROTOCOL', 'SASL final before SASL start');
        scram.verifyServerFinal(req.data.toString('utf8'));
        break;
      default:
        throw new UpstreamError('AUTH_UNSUPPORTED', `upstream asks for an unsupported authentication method (code ${req.code})`);
    }
  }
}
