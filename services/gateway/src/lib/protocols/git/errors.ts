/** Stable codes for malformed git smart-HTTP input (a value, never a crash). */
export type GitProtocolErrorCode =
  /** A pkt-line length that is not 4 hex digits, or out of range (gitprotocol-common). */
  | 'BAD_PKT_LINE'
  /** A receive-pack command that is not `<old> <new> <ref>`. */
  | 'BAD_COMMAND'
  /** The command list or a pkt-line is larger than the limit. */
  | 'TOO_LARGE'
  /** Pack header, object header or delta that does not parse (gitformat-pack). */
  | 'BAD_PACK';

export class GitProtocolError extends Error {
  override name = 'GitProtocolError';
  constructor(
    readonly code: GitProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
