import type { KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '@chaperone/config';
import { IdentityError } from './errors.js';
import { loadSigningKeys } from './keys.js';
import { RESERVED_CLAIMS, type AgentIdentity, type ClockOptions } from './types.js';

/** Clocks of the issuing machine and the gateway drift; 30 s absorbs that without extending tokens meaningfully. */
const CLOCK_TOLERANCE_S = 30;
const REISSUE = 'issue a new one with `chaperone token issue`';

/** Verifies identity tokens against the public half of the configured signing key. */
export class TokenVerifier {
  private constructor(
    private readonly cfg: Config['identity'],
    private readonly publicKey: KeyObject,
    private readonly now: () => number,
  ) {}

  static async fromConfig(identity: Config['identity'], opts: ClockOptions = {}): Promise<TokenVerifier> {
    const keys = await loadSigningKeys(identity.signingKeyFile);
    return new TokenVerifier(identity, keys.publicKey, opts.now ?? Date.now);
  }

  /** Returns the identity a valid token proves; throws {@link IdentityError} saying why a token is refused. */
  async verify(token: string): Promise<AgentIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token.trim(), this.publicKey, {
        algorithms: ['EdDSA'],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'exp', 'jti', 'iat'],
      }));
    } catch (err) {
      throw this.explain(err);
    }
    return toIdentity(payload);
  }

  private explain(err: unknown): IdentityError {
    if (err instanceof errors.JWTExpired) {
      return new IdentityError('TOKEN_EXPIRED', `token expired at ${isoDate(err.payload.exp)}; ${REISSUE}`, { cause: err });
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const p = err.payload;
      if (err.claim === 'aud') {
        return new IdentityError(
          'WRONG_AUDIENCE',
          `token is for audience ${JSON.stringify(p.aud)}, this gateway expects "${this.cfg.audience}"; ${REISSUE} against this gateway's configuration`,
          { cause: err },
        );
      }
      if (err.claim === 'iss') {
        return new IdentityError(
          'WRONG_ISSUER',
          `token was issued by ${JSON.stringify(p.iss)}, this gateway trusts "${this.cfg.issuer}"; ${REISSUE} against this gateway's configuration`,
          { cause: err },
        );
      }
      if (err.claim === 'nbf' || err.claim === 'iat') {
        return new IdentityError(
          'TOKEN_NOT_YET_VALID',
          `token is not valid before ${isoDate(p.nbf ?? p.iat)}; check the clock of the machine that issued it (or wait)`,
          { cause: err },
        );
      }
      return new IdentityError('TOKEN_INVALID', `token claims are not acceptable (${err.message}); ${REISSUE}`, { cause: err });
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return new IdentityError(
        'TOKEN_INVALID',
        `token signature does not verify: it was altered or signed with another key than this gateway's identity.signingKeyFile; ${REISSUE}`,
        { cause: err },
      );
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return new IdentityError('TOKEN_INVALID', `token is signed with an algorithm this gateway refuses (only EdDSA); ${REISSUE}`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new IdentityError('TOKEN_INVALID', `not a valid identity token (${msg}); ${REISSUE}`, { cause: err });
  }
}

function isoDate(sec: unknown): string {
  return typeof sec === 'number' ? new Date(sec * 1000).toISOString() : 'an unknown time';
}

function toIdentity(p: JWTPayload): AgentIdentity {
  const groups = p.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g): g is string => typeof g === 'string')) {
    throw new IdentityError('TOKEN_INVALID', `token claim "groups" must be a list of strings; ${REISSUE}`);
  }
  const claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (!RESERVED_CLAIMS.has(k)) claims[k] = v;
  return {
    subject: p.sub!,
    issuer: p.iss!,
    groups,
    tokenId: p.jti!,
    expiresAt: p.exp! * 1000,
    claims,
  };
}
