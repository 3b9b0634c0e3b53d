/**
 * Stable error codes of the HTTP request checks. Malformed input from an agent is a value of
 * this class: the listener answers it with `status` and never forwards the request.
 */
export type HttpProtocolErrorCode =
  /** The request target is not origin-form (or asterisk-form for OPTIONS), or has bad escapes. */
  | 'BAD_TARGET'
  /** A dot segment, an encoded slash/backslash or a NUL in the path (RFC 3986 §5.2.4 tricks). */
  | 'PATH_TRAVERSAL'
  /** Content-Length together with Transfer-Encoding (RFC 9112 §6.3: request smuggling). */
  | 'CONFLICTING_FRAMING'
  | 'BAD_CONTENT_LENGTH'
  /** A transfer coding other than a final `chunked`. */
  | 'BAD_TRANSFER_ENCODING'
  /** A header name or value with characters RFC 9110 §5 does not allow, or a repeated Host. */
  | 'BAD_HEADER'
  /** A request line that is not `method SP origin-form SP HTTP/1.x` (RFC 9112 §3), or a bare LF. */
  | 'BAD_REQUEST_LINE'
  /** An HTTP version other than 1.0 and 1.1 on an HTTP/1 connection. */
  | 'VERSION_NOT_SUPPORTED'
  /** A missing, repeated or malformed Host (RFC 9110 §7.2: host[:port] only). */
  | 'BAD_HOST'
  /** More header (or trailer) fields than gateway.httpProxy.maxHeaderFields. */
  | 'TOO_MANY_FIELDS'
  /** A chunk size of more than 16 hex digits, over the body limit, or a malformed chunk line. */
  | 'BAD_CHUNK'
  /** A request head that did not arrive within gateway.httpProxy.headersTimeout. */
  | 'HEAD_TIMEOUT'
  /** An HTTP/2 header list beyond the SETTINGS_MAX_HEADER_LIST_SIZE the gateway advertised. */
  | 'HEADERS_TOO_LARGE'
  | 'BODY_TOO_LARGE'
  /** No Authorization header, or one the gateway cannot read a token from. */
  | 'MISSING_CREDENTIALS'
  | 'BAD_AUTHORIZATION'
  /** No configured connection serves this host and path. */
  | 'NO_ROUTE'
  /** A WebSocket frame that breaks RFC 6455 framing or the size limit. */
  | 'BAD_FRAME'
  /** A protocol body the gateway must understand to decide (git push, OCI manifest) does not parse. */
  | 'BAD_BODY'
  /** A body encoding the gateway cannot inspect where it must (e.g. a gzip-compressed push). */
  | 'UNSUPPORTED_ENCODING';

const STATUS: Record<HttpProtocolErrorCode, number> = {
  BAD_TARGET: 400,
  PATH_TRAVERSAL: 400,
  CONFLICTING_FRAMING: 400,
  BAD_CONTENT_LENGTH: 400,
  BAD_TRANSFER_ENCODING: 501,
  BAD_HEADER: 400,
  BAD_REQUEST_LINE: 400,
  VERSION_NOT_SUPPORTED: 505,
  BAD_HOST: 400,
  TOO_MANY_FIELDS: 431,
  BAD_CHUNK: 400,
  HEAD_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  BODY_TOO_LARGE: 413,
  MISSING_CREDENTIALS: 401,
  BAD_AUTHORIZATION: 401,
  NO_ROUTE: 404,
  BAD_FRAME: 400,
  BAD_BODY: 400,
  UNSUPPORTED_ENCODING: 415,
};

export class HttpProtocolError extends Error {
  override name = 'HttpProtocolError';

  constructor(
    readonly code: HttpProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The response status the agent gets. */
  get status(): number {
    return STATUS[this.code];
  }
}
