import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  Frontend,
  MessageReader,
  PgProtocolError,
  StartupCode,
  decodePassword,
  decodeStartupPacket,
  encodeAuthentication,
} from '../../protocols/postgres/index.js';
import { AuthError } from '../../errors.js';
import { FramedConn } from './framed-conn.js';

export interface ClientHello {
  stream: Duplex;
  conn: FramedConn;
  params: Record<string, string>;
  tls: boolean;
}

export interface HandshakeOptions {
  secureContext: SecureContext | undefined;
  maxMessageBytes: number;
  maxStartupBytes: number;
  timeoutMs: number;
  onCancel: (processId: number, secretKey: number) => void;
  /** Told when the client's stream becomes a TLS socket, so refusals are written inside TLS. */
  onSecure: (stream: Duplex) => void;
}

const NO = Buffer.from('N');
const YES = Buffer.from('S');

/**
 * The startup phase up to the StartupMessage: answers SSLRequest (TLS when configured) and
 * GSSENCRequest (always refused: the client falls back), hands CancelRequests off.
 * Returns null for a cancel connection.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL
 */
export async function acceptStartup(raw: Socket, opts: HandshakeOptions): Promise<ClientHello | null> {
  const conn = new FramedConn(raw, new MessageReader({ maxMessageBytes: opts.maxMessageBytes, maxStartupBytes: opts.maxStartupBytes, startup: true }));
  let tls = false;
  for (;;) {
    const msg = await conn.next(opts.timeoutMs, 'the startup packet');
    const packet = decodeStartupPacket(msg.payload);
    if (packet.kind === 'cancel') {
      opts.onCancel(packet.processId, packet.secretKey);
      return null;
    }
    if (packet.kind === 'gssenc' || (packet.kind === 'ssl' && (!opts.secureContext || tls))) {
      conn.stream.write(NO);
      continue;
    }
    if (packet.kind === 'ssl') {
      conn.detach();
      raw.write(YES);
      const secure = new TLSSocket(raw, { isServer: true, secureContext: opts.secureContext! });
      conn.attach(secure);
      opts.onSecure(secure);
      tls = true;
      continue;
    }
    if (packet.protocolVersion >> 16 !== StartupCode.Protocol30 >> 16)
      throw new PgProtocolError('BAD_STARTUP', `unsupported protocol version ${packet.protocolVersion >> 16}.${packet.protocolVersion & 0xffff}`);
    return { stream: conn.stream, conn, params: packet.params, tls };
  }
}

/**
 * Asks for the agent's token as a cleartext password. Only inside TLS: a token sent in the
 * clear could be replayed by anyone on the path (RFC 8446 gives the channel its secrecy).
 */
export async function readToken(hello: ClientHello, timeoutMs: number): Promise<string> {
  if (!hello.tls)
    throw new AuthError('NO_TLS', 'Chaperone accepts tokens only over TLS: connect with sslmode=require (or verify-full with the gateway CA)');
  hello.stream.write(encodeAuthentication({ type: 'cleartext' }));
  const msg = await hello.conn.next(timeoutMs, 'the password message');
  if (msg.code !== Frontend.PasswordMessage) throw new AuthError('NO_PASSWORD', 'expected a password message carrying the agent token');
  const token = decodePassword(msg.payload);
  if (!token) throw new AuthError('NO_PASSWORD', 'empty password: pass the token from `chaperone token issue` as the password');
  return token;
}
