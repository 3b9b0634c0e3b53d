/**
 * Stable error codes of the PostgreSQL codec. Wire-level problems are values of this class
 * (returned by `MessageReader.push`, thrown by decoders) so that the proxy can end the one
 * connection that sent them; anything else escaping the codec is a programming bug.
 */
export type PgProtocolErrorCode =
  /** A length field claims more than the configured maximum (checked before allocating). */
  | 'MESSAGE_TOO_LARGE'
  /** A length field is below the 4 bytes the length itself occupies (or negative). */
  | 'BAD_LENGTH'
  /** A startup-phase packet is too short, or asks for an unsupported protocol. */
  | 'BAD_STARTUP'
  /** A message type that is not valid here (unknown type byte, out-of-order SCRAM step). */
  | 'UNEXPECTED_MESSAGE'
  /** The body does not match the message format (missing NUL, counts beyond the payload, ...). */
  | 'MALFORMED'
  /** SCRAM: the server refused us, or could not prove it knows the password. */
  | 'AUTH_FAILED';

export class PgProtocolError extends Error {
  override name = 'PgProtocolError';

  constructor(
    readonly code: PgProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }

  /**
   * SQLSTATE to put in the ErrorResponse sent to the peer before closing:
   * 08P01 protocol_violation, or 28000 invalid_authorization_specification.
   * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
   */
  get sqlState(): string {
    return this.code === 'AUTH_FAILED' ? '28000' : '08P01';
  }
}

export function malformed(what: string): PgProtocolError {
  return new PgProtocolError('MALFORMED', what);
}
