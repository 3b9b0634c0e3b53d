/** Why a token or key was refused; stable so callers (gateway, API) can map it to wire errors. */
export type IdentityErrorCode =
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_TOO_LARGE'
  | 'WRONG_AUDIENCE'
  | 'WRONG_ISSUER'
  | 'CLAIM_REQUIRED'
  | 'TTL_TOO_LONG'
  | 'KEYS_UNAVAILABLE'
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

/** A valid identity that may not open the connection it asked for (config `access`); the message names the connection. */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
  readonly code = 'ACCESS_DENIED';
  constructor(
    readonly connection: string,
    message: string,
  ) {
    super(message);
  }
}
