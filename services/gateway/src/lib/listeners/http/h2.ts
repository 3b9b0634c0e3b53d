import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream, type SecureServerOptions } from 'node:http2';
import type { Duplex, ReadableOptions } from 'node:stream';
import type { HttpProxyListener } from '@chaperone/config';
import { HttpProtocolError, checkHost } from '../../protocols/http/index.js';
import { guardOf } from './guard.js';
import { h1RequestHead, h2ResponseHeaders, type H1Head } from './h2-head.js';

/**
 * An HTTP/2 request as the listener and the exchange see it: the head an HTTP/1.1 request would
 * have (`Host` from `:authority`, no pseudo-fields, cookies joined; see h2-head.ts), so
 * authentication, routing, the request checks, the recording and the upstream request work
 * unchanged. `httpVersion` stays "2.0": the recorded request head says which protocol the
 * agent spoke.
 */
export class H2Request extends Http2ServerRequest {
  readonly h1: H1Head;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: ReadableOptions, rawHeaders: readonly string[]) {
    super(stream, headers, options, rawHeaders);
    this.h1 = h1RequestHead(rawHeaders);
    const h: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':')) h[k] = v;
    if (h.host === undefined && this.h1.authority !== undefined) h.host = this.h1.authority;
    // HTTP/2 frames bodies itself (END_STREAM), so a body of unknown length has no
    // Content-Length and no Transfer-Encoding. The exchange reads "neither" as "no body" (RFC
    // 9112 §6.3), so such a body is described the way HTTP/1.1 would describe it: chunked.
    // Only this header object says so; the recorded head (rawHeaders) does not.
    if (!stream.endAfterHeaders && h['content-length'] === undefined) h['transfer-encoding'] = 'chunked';
    // Own properties shadow the prototype's accessors; Node's own code reads its internal copies.
    Object.defineProperties(this, { headers: { value: h, enumerable: true }, rawHeaders: { value: this.h1.rawHeaders, enumerable: true } });
  }
}

/**
 * An HTTP/2 response that takes what the exchange gives an HTTP/1.1 one: connection-specific
 * fields (Connection, Keep-Alive, Transfer-Encoding, …) are dropped instead of throwing, the
 * reason phrase is dropped (HTTP/2 has none, RFC 9113 §8.3.2), and the members of
 * ServerResponse the exchange reads are there.
 */
export class H2Response extends Http2ServerResponse<H2Request> {
  /**
   * Set false by the exchange when the request body was not read. HTTP/2 needs nothing more:
   * Node resets the stream with NO_ERROR once the response is complete, which tells the
   * client to stop sending (RFC 9113 §8.1), and the connection stays usable.
   */
  shouldKeepAlive = true;

  constructor(stream: ServerHttp2Stream) {
    super(stream);
    // ServerResponse has these; the compatibility response does not (typings notwithstanding).
    Object.defineProperties(this, {
      writableNeedDrain: { get: () => this.stream.writableNeedDrain, enumerable: true },
      destroyed: { get: () => this.stream.destroyed, enumerable: true },
    });
  }

  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders): this;
  override writeHead(statusCode: number, statusMessage: string, headers?: OutgoingHttpHeaders): this;
  override writeHead(statusCode: number, a?: string | OutgoingHttpHeaders | readonly string[], b?: OutgoingHttpHeaders | readonly string[]): this {
    const given = typeof a === 'string' || a === undefined ? b : a;
    if (given === undefined) return super.writeHead(statusCode);
    const flat = h2ResponseHeaders(given as Record<string, unknown>).flatMap(([k, v]) => (Array.isArray(v) ? v.flatMap((x) => [k, String(x)]) : [k, String(v)]));
    // Node's compatibility layer takes a flat list (explicit duplicates kept); its typings do not say so.
    return super.writeHead(statusCode, flat as unknown as OutgoingHttpHeaders);
  }
}

/**
 * exchange.ts, refuse.ts and the listener are written against IncomingMessage/ServerResponse;
 * H2Request/H2Response stand in for them. These are the members they use, checked here so a
 * new use shows up as a compile error rather than an undefined at run time.
 */
type Has<K extends string> = Record<K, unknown>;
type RequestSurface = Has<'method' | 'url' | 'headers' | 'rawHeaders' | 'httpVersion' | 'readableEnded' | 'isPaused' | 'pause' | 'resume' | 'socket'>;
type ResponseSurface = Has<'req' | 'writeHead' | 'write' | 'end' | 'destroy' | 'headersSent' | 'destroyed' | 'writableNeedDrain' | 'shouldKeepAlive' | 'writeContinue'>;
export const asIncomingMessage = (req: H2Request): IncomingMessage => (req satisfies RequestSurface) as unknown as IncomingMessage;
export const asServerResponse = (res: H2Response): ServerResponse => (res satisfies ResponseSurface) as unknown as ServerResponse;

/** Options of `http2.createSecureServer` for the listener (TLS options are added by the caller). */
export function h2ServerOptions(s: HttpProxyListener): SecureServerOptions<typeof IncomingMessage, typeof ServerResponse, typeof H2Request, typeof H2Response> {
  return {
    allowHTTP1: true,
    Http2ServerRequest: H2Request,
    Http2ServerResponse: H2Response,
    settings: { maxConcurrentStreams: s.h2.maxConcurrentStreams, maxHeaderListSize: s.h2.maxHeaderListSize, enablePush: false },
    // A client that opens more streams than allowed is refused (REFUSED_STREAM) per stream, not
    // disconnected at once; nghttp2's flood protections stay on.
    peerMaxConcurrentStreams: s.h2.maxConcurrentStreams,
  };
}

/**
 * The checks an HTTP/1.1 request gets from Node's parser that an HTTP/2 one needs from us: the
 * header list limit we advertise (nghttp2 enforces it only once the client acknowledged our
 * SETTINGS, i.e. not on the first requests) and a consistent target host.
 */
export function checkH2Head(req: H2Request, limits: Pick<HttpProxyListener, 'maxHeaderBytes' | 'maxHeaderFields' | 'h2'>): void {
  const { listBytes, fields } = req.h1;
  if (listBytes > limits.h2.maxHeaderListSize)
    throw new HttpProtocolError('HEADERS_TOO_LARGE', `request header list of ${listBytes} bytes exceeds the limit of ${limits.h2.maxHeaderListSize} (SETTINGS_MAX_HEADER_LIST_SIZE)`);
  // The same limits as an HTTP/1.1 head: listBytes counts 32 bytes a field, more than ": " + CRLF.
  if (listBytes > limits.maxHeaderBytes) throw new HttpProtocolError('HEADERS_TOO_LARGE', `request head of ${listBytes} bytes exceeds the limit of ${limits.maxHeaderBytes}`);
  if (fields > limits.maxHeaderFields) throw new HttpProtocolError('TOO_MANY_FIELDS', `more than ${limits.maxHeaderFields} header fields`);
  if (req.h1.problem) throw new HttpProtocolError('BAD_HEADER', req.h1.problem);
  const bad = req.h1.authority === undefined ? undefined : checkHost(req.h1.authority);
  if (bad) throw bad;
}

/**
 * The client connection a request came on: the TCP/TLS socket for HTTP/1.1, the HTTP/2 session
 * (whose `req.socket` is a per-stream proxy) for HTTP/2.
 */
export interface ClientConnection {
  key: object;
  remoteAddress: string;
  remotePort: number;
  tls: boolean;
  onClose(fn: () => void): void;
  /** Closes it at once (a recording failure: nothing more may pass). */
  destroy(): void;
  /** Closes it once the requests under way are answered (HTTP/2: GOAWAY; HTTP/1.1: after the last response). */
  endWhenIdle(): void;
  /** HTTP/2: one connection carries many requests at once, and GOAWAY tells the client to open no more. */
  readonly h2: boolean;
}

export function clientConnection(req: IncomingMessage | H2Request): ClientConnection {
  if (req instanceof H2Request) {
    const session = req.stream.session as ServerHttp2Session;
    const socket = session.socket;
    return {
      key: session,
      remoteAddress: socket.remoteAddress ?? '?',
      remotePort: socket.remotePort ?? 0,
      tls: true,
      onClose: (fn) => void session.once('close', fn),
      destroy: () => session.destroy(),
      endWhenIdle: () => session.close(),
      h2: true,
    };
  }
  const socket: Duplex & { remoteAddress?: string; remotePort?: number } = req.socket;
  return {
    key: socket,
    remoteAddress: socket.remoteAddress ?? '?',
    remotePort: socket.remotePort ?? 0,
    tls: 'encrypted' in socket,
    onClose: (fn) => void socket.once('close', fn),
    destroy: () => socket.destroy(),
    endWhenIdle: () => (guardOf(socket) ? guardOf(socket)!.endWhenIdle() : socket.end()),
    h2: false,
  };
}
