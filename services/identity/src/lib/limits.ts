import { errors, type JWTPayload } from 'jose';
import { IdentityError } from './errors.js';
import { errorMessage } from '@chaperone/observability';

/** What a verification checks beyond the signature, and how refusals explain themselves. */
export interface TokenRules {
  /** Who issued the token, for messages. */
  issuer: string;
  /** Accepted audiences, for messages. */
  audiences: string[];
  /** Longest accepted `exp − iat`. */
  maxTtlMs: number;
  /** identity.clockSkew. */
  skewMs: number;
  /** What the holder should do about a refused token. */
  remedy: string;
}

/** Refuses a token larger than identity.maxTokenBytes before anything parses it. */
export function checkTokenSize(token: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes > maxBytes)
    throw new IdentityError('TOKEN_TOO_LARGE', `token is ${bytes} bytes, more than the ${maxBytes} this gateway accepts (identity.maxTokenBytes); use a token with fewer claims`);
}

const PARTS = ['header', 'payload', 'signature'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const NOT_A_TOKEN = 'pass the whole token as `chaperone token issue` (or your workload identity provider) printed it';

/**
 * Refuses what is not a compact JWT at all, naming the part that is wrong, before jose parses it:
 * jose's own words ("Invalid Compact JWS", "Invalid JWT") tell a person neither what nor why
 * (RFC 7515 §7.1: header.payload.signature, each base64url without padding).
 */
export function checkTokenShape(token: string): void {
  const parts = token.split('.');
  const refuse = (what: string) => {
    throw new IdentityError('TOKEN_INVALID', `not a token: ${what}; ${NOT_A_TOKEN}`);
  };
  if (parts.length !== 3) refuse(`expected three base64url parts separated by dots, got ${parts.length}`);
  parts.forEach((part, i) => {
    if (!BASE64URL.test(part)) refuse(`its ${PARTS[i]} (part ${i + 1}) is ${part ? 'not base64url' : 'empty'}`);
  });
  for (const i of [0, 1]) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(parts[i]!, 'base64url').toString('utf8'));
    } catch {
      value = undefined;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) refuse(`its ${PARTS[i]} does not decode to a JSON object`);
  }
}

/**
 * The lifetime rules jose does not apply by itself: `exp − iat` at most maxTtl (a year-long token
 * signed by a valid key is still refused) and `iat` not later than now + clock skew.
 */
export function checkLifetime(p: JWTPayload, rules: TokenRules, nowMs: number): void {
  const { exp, iat } = p;
  if (typeof exp !== 'number' || typeof iat !== 'number')
    throw new IdentityError('TOKEN_INVALID', `token from ${rules.issuer} must carry numeric "iat" and "exp"; ${rules.remedy}`);
  if (iat * 1000 > nowMs + rules.skewMs)
    throw new IdentityError(
      'TOKEN_NOT_YET_VALID',
      `token was issued at ${isoDate(iat)}, in the future by more than the ${fmtMs(rules.skewMs)} clock skew allowed (identity.clockSkew); check the clock of the machine that issued it`,
    );
  const ttlMs = (exp - iat) * 1000;
  if (ttlMs > rules.maxTtlMs)
    throw new IdentityError('TTL_TOO_LONG', `token lifetime ${fmtMs(ttlMs)} (exp − iat) exceeds the maximum ${fmtMs(rules.maxTtlMs)} this gateway accepts; ${rules.remedy} with a shorter lifetime`);
}

/** Turns a jose failure into an {@link IdentityError} saying what to do. */
export function explainJose(err: unknown, rules: TokenRules): IdentityError {
  if (err instanceof IdentityError) return err;
  const opts = { cause: err };
  if (err instanceof errors.JWTExpired) return new IdentityError('TOKEN_EXPIRED', `token expired at ${isoDate(err.payload.exp)}; ${rules.remedy}`, opts);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const p = err.payload;
    if (err.reason === 'missing') return new IdentityError('TOKEN_INVALID', `token has no "${err.claim}" claim, which ${rules.issuer} tokens must carry; ${rules.remedy}`, opts);
    if (err.claim === 'aud')
      return new IdentityError('WRONG_AUDIENCE', `token is for audience ${JSON.stringify(p.aud)}, this gateway expects ${rules.audiences.map((a) => `"${a}"`).join(' or ')} from ${rules.issuer}; ${rules.remedy}`, opts);
    if (err.claim === 'iss') return new IdentityError('WRONG_ISSUER', `token was issued by ${JSON.stringify(p.iss)}, expected "${rules.issuer}"; ${rules.remedy}`, opts);
    if (err.claim === 'nbf' || err.claim === 'iat')
      return new IdentityError('TOKEN_NOT_YET_VALID', `token is not valid before ${isoDate(p.nbf ?? p.iat)}; check the clock of the machine that issued it (or wait)`, opts);
    return new IdentityError('TOKEN_INVALID', `token claims are not acceptable (${err.message}); ${rules.remedy}`, opts);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new IdentityError('TOKEN_INVALID', `token signature does not verify: it was altered or signed with a key ${rules.issuer} does not publish; ${rules.remedy}`, opts);
  if (err instanceof errors.JOSEAlgNotAllowed) return new IdentityError('TOKEN_INVALID', `token is signed with an algorithm this gateway refuses for ${rules.issuer}; ${rules.remedy}`, opts);
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return new IdentityError('TOKEN_INVALID', `token is signed with a key (kid) that ${rules.issuer} does not publish in its JWKS; ${rules.remedy}`, opts);
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err instanceof TypeError || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC'))
    return new IdentityError('KEYS_UNAVAILABLE', `cannot get the signing keys of ${rules.issuer} (${err.message}) and none are cached; try again shortly`, opts);
  // Structure errors jose finds past checkTokenShape (a header field of the wrong type, claims that are not a JWT's).
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return new IdentityError('TOKEN_INVALID', `token is malformed: its header or claims are not those of a signed JWT from ${rules.issuer}; ${rules.remedy}`, opts);
  if (err instanceof errors.JOSENotSupported)
    return new IdentityError('TOKEN_INVALID', `token uses a JOSE feature this gateway does not support (a "crit" header or an unknown algorithm); ${rules.remedy}`, opts);
  const msg = errorMessage(err);
  return new IdentityError('TOKEN_INVALID', `token refused (${msg}); ${rules.remedy}`, opts);
}

export function isoDate(sec: unknown): string {
  return typeof sec === 'number' ? new Date(sec * 1000).toISOString() : 'an unknown time';
}

export function fmtMs(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
