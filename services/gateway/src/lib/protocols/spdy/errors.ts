/** Stable codes of SPDY/3.1 input the gateway refuses to relay. */
export type SpdyProtocolErrorCode =
  /** A control frame of another SPDY version, a bad length for its type, stream id 0 where one is required. */
  | 'BAD_FRAME'
  /** A frame longer than the gateway's limit. */
  | 'FRAME_TOO_LARGE'
  /** A header block that does not inflate with the SPDY/3 dictionary, is too large, or does not parse. */
  | 'BAD_HEADER_BLOCK'
  /** More open streams than the gateway tracks, or a stream opened twice. */
  | 'BAD_STREAM';

/** Malformed SPDY input: a value, never thrown past the codec; the tunnel ends on it. */
export class SpdyProtocolError extends Error {
  override name = 'SpdyProtocolError';

  constructor(
    readonly code: SpdyProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
