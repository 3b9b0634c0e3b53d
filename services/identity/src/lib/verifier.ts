import type { KeyObject } from 'node:crypto';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { IdentityConfig } from '@chaperone/config';
import { IdentityError } from './errors.js';
import { ExternalIssuer } from './external.js';
import { loadSigningKeys } from './keys.js';
import { checkLifetime, checkTokenShape, checkTokenSize, explainJose, type TokenRules } from './limits.js';
import { RESERVED_CLAIMS, type AgentIdentity, type ClockOptions } from './types.js';

const REISSUE = 'issue a new one with `chaperone token issue`';

/**
 * Verifies identity tokens: our own (EdDSA, the public half of identity.signingKeyFile) and
 * workload tokens of the issuers in identity.trustedIssuers, picked by the token's `iss`. Every
 * token, whatever the protocol that carried it, passes the same limits: identity.maxTokenBytes,
 * `exp − iat` within maxTtl, `iat` and `nbf` not later than identity.clockSkew from now, and
 * `exp` not earlier than identity.clockSkew ago.
 */
export class TokenVerifier {
  private readonly own: TokenRules;
  private constructor(
    private readonly cfg: IdentityConfig,
    private readonly publicKey: KeyObject,
    private readonly external: ReadonlyMap<string, ExternalIssuer>,
    private readonly now: () => number,
  ) {
    this.own = { issuer: cfg.issuer, audiences: [cfg.audience], maxTtlMs: cfg.maxTtlMs, skewMs: cfg.clockSkewMs, remedy: REISSUE };
  }

  static async fromConfig(identity: IdentityConfig, opts: ClockOptions = {}): Promise<TokenVerifier> {
    const keys = await loadSigningKeys(identity.signingKeyFile);
    const now = opts.now ?? Date.now;
    const external = new Map((identity.trustedIssuers ?? []).map((t) => [t.issuer, ExternalIssuer.create(t, identity.clockSkewMs, now)]));
    return new TokenVerifier(identity, keys.publicKey, external, now);
  }

  /** Returns the identity a valid token proves; throws {@link IdentityError} saying why a token is refused. */
  async verify(raw: string): Promise<AgentIdentity> {
    const token = raw.trim();
    checkTokenSize(token, this.cfg.maxTokenBytes);
    checkTokenShape(token);
    const iss = peekIssuer(token);
    if (iss === this.cfg.issuer) return this.verifyOwn(token);
    const external = iss === undefined ? undefined : this.external.get(iss);
    if (external) return external.verify(token);
    const trusted = [this.cfg.issuer, ...this.external.keys()].map((i) => `"${i}"`).join(', ');
    throw new IdentityError('WRONG_ISSUER', `token was issued by ${JSON.stringify(iss ?? null)}, this gateway trusts ${trusted} (identity.issuer, identity.trustedIssuers); ${REISSUE} against this gateway's configuration`);
  }

  private async verifyOwn(token: string): Promise<AgentIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['EdDSA'],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: Math.floor(this.cfg.clockSkewMs / 1000),
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'exp', 'jti', 'iat'],
      }));
    } catch (err) {
      throw explainJose(err, this.own);
    }
    checkLifetime(payload, this.own, this.now());
    return toIdentity(payload);
  }
}

/** The unverified `iss`, only to pick the keys that will verify the token. */
function peekIssuer(token: string): string | undefined {
  let p: JWTPayload;
  try {
    p = decodeJwt(token);
  } catch (err) {
    throw new IdentityError('TOKEN_INVALID', `token is malformed: its payload is not a JWT claims set; ${REISSUE}`, { cause: err });
  }
  return typeof p.iss === 'string' ? p.iss : undefined;
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
