/** Why a token or key was refused; stable so callers (gateway, API) can map it to wire errors. */
export type IdentityErrorCode =
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_NOT_YET_VALID'
  | 'WRONG_AUDIENCE'
  | 'WRONG_ISSUER'
  | 'TTL_TOO_LONG'
  | 'REQUEST_INVALID'
  | 'KEY_INVALID';

/** A token that cannot be accepted, or a request the issuer refuses; the message says what to do. */
export class IdentityError extends Error {
  override name = 'IdentityError';
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
