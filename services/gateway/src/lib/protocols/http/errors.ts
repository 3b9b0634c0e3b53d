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
