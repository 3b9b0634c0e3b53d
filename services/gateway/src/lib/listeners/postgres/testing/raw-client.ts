import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  Backend,
  MessageReader,
  decodeErrorFields,
  encodePasswordMessage,
  encodeQuery,
  encodeSSLRequest,
  encodeStartupMessage,
  encodeTerminate,
  type PgMessage,
  type PgProtocolError,
} from '../../../protocols/postgres/index.js';

/** The peer neither answered nor closed in time: what the fuzz suite calls a hang. */
export class HangError extends Error {
  override name = 'HangError';
}

export interface LoginOptions {
  user: string;
  database: string;
  applicationName: string;
  token: string;
  /** Bytes written in the same write as the password message (a client that pipelines). */
  pipelined?: Buffer;
}

export type LoginResult = { ok: true; greeting: PgMessage[] } | { ok: false; error: string };

const MAX_FRAME = 64 * 1024 * 1024;

/**
 * A PostgreSQL client at the byte level, for sending what no driver would: it frames what
 * comes back and leaves everything else to the test.
 */
export class RawPgClient {
  private readonly reader = new MessageReader({ maxMessageBytes: MAX_FRAME });
  private queue: PgMessage[] = [];
  private wake: (() => void) | undefined;
  /** The gateway sent bytes that are not valid backend frames. */
  readError: PgProtocolError | undefined;
  closed = false;
  bytesIn = 0;

  private constructor(private readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      const { messages, error } = this.reader.push(chunk);
      this.queue.push(...messages);
      if (error) this.readError ??= error;
      this.wake?.();
    });
    stream.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    stream.on('error', () => {});
  }

  /** Opens a TCP connection and, with `tls`, negotiates TLS the PostgreSQL way (SSLRequest, 'S'). */
  static async connect(port: number, opts: { tls: boolean; timeoutMs: number }): Promise<RawPgClient> {
    const raw = await openSocket(port, opts.timeoutMs);
    if (!opts.tls) return new RawPgClient(raw);
    raw.write(encodeSSLRequest());
    const answer = await withTimeout(new Promise<Buffer>((resolve, reject) => {
      raw.once('data', resolve);
      raw.once('close', () => reject(new Error('closed before answering SSLRequest')));
    }), opts.timeoutMs, 'the SSLRequest answer');
    if (answer.toString('latin1') !== 'S') throw new Error(`SSLRequest answered with ${JSON.stringify(answer.toString('latin1'))}`);
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    secure.on('error', () => {});
    await withTimeout(new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    }), opts.timeoutMs, 'the TLS handshake');
    return new RawPgClient(secure);
  }

  write(bytes: Buffer): void {
    if (!this.stream.destroyed) this.stream.write(bytes);
  }

  /** The next message, or null once the connection is closed and everything was read. */
  async next(timeoutMs: number, what: string): Promise<PgMessage | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new HangError(`no message and no close within ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Reads until the connection closes; returns the messages read on the way. */
  async untilClosed(timeoutMs: number, what: string): Promise<PgMessage[]> {
    const got: PgMessage[] = [];
    for (let m = await this.next(timeoutMs, what); m; m = await this.next(timeoutMs, what)) got.push(m);
    return got;
  }

  /** StartupMessage and the token as cleartext password, up to ReadyForQuery or an error. */
  async login(o: LoginOptions, timeoutMs: number): Promise<LoginResult> {
    this.write(encodeStartupMessage({ user: o.user, database: o.database, application_name: o.applicationName }));
    const first = await this.next(timeoutMs, 'the authentication request');
    if (!first) return { ok: false, error: 'closed' };
    if (first.code === Backend.ErrorResponse) return { ok: false, error: errorMessage(first) };
    if (first.code !== Backend.Authentication || first.payload.readInt32BE(0) !== 3) throw new Error(`expected AuthenticationCleartextPassword, got ${String.fromCharCode(first.code)}`);
    const password = encodePasswordMessage(o.token);
    this.write(o.pipelined ? Buffer.concat([password, o.pipelined]) : password);
    const greeting: PgMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs, 'the greeting');
      if (!m) return { ok: false, error: 'closed' };
      if (m.code === Backend.ErrorResponse) return { ok: false, error: errorMessage(m) };
      greeting.push(m);
      if (m.code === Backend.ReadyForQuery) return { ok: true, greeting };
    }
  }

  /** A simple query; its messages up to ReadyForQuery. Throws if the connection closes first. */
  async query(sql: string, timeoutMs: number): Promise<PgMessage[]> {
    this.write(encodeQuery(sql));
    return this.untilReady(timeoutMs, sql);
  }

  async untilReady(timeoutMs: number, what: string): Promise<PgMessage[]> {
    const got: PgMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs, what);
      if (!m) throw new Error(`connection closed while waiting for ${what}`);
      got.push(m);
      if (m.code === Backend.ReadyForQuery) return got;
    }
  }

  /** Terminate, then wait for the gateway to close the connection. */
  async terminate(timeoutMs: number): Promise<void> {
    this.write(encodeTerminate());
    await this.untilClosed(timeoutMs, 'the close after Terminate');
  }

  /** Half-closes: the gateway sees the end of the stream, the client can still read. */
  end(bytes?: Buffer): void {
    if (bytes) this.stream.end(bytes);
    else this.stream.end();
  }

  destroy(): void {
    this.stream.destroy();
  }
}

export function errorMessage(m: PgMessage): string {
  const f = decodeErrorFields(m.payload);
  return `${f.S ?? '?'} ${f.C ?? '?'}: ${f.M ?? ''}`;
}

async function openSocket(port: number, timeoutMs: number): Promise<Socket> {
  const raw = netConnect({ host: '127.0.0.1', port, noDelay: true });
  raw.on('error', () => {});
  await withTimeout(new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  }), timeoutMs, 'the TCP connection');
  return raw;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new HangError(`no answer within ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
