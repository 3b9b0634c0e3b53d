import { createHash } from 'node:crypto';
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { TrustedIssuer } from '@chaperone/config';
import { claimAt, renderTemplate } from './claims.js';
import { IdentityError } from './errors.js';
import { fileKeys, remoteKeys } from './jwks.js';
import { checkLifetime, explainJose, type TokenRules } from './limits.js';
import { REGISTERED_CLAIMS, type AgentIdentity } from './types.js';

const REMEDY = 'present a fresh token from that issuer';

/**
 * Workload tokens of one trusted OIDC issuer (GitHub Actions, a Kubernetes cluster, SPIFFE):
 * verified against its published keys and mapped to a subject and groups by the configured
 * templates.
 */
export class ExternalIssuer {
  private readonly rules: TokenRules;
  private constructor(
    private readonly cfg: TrustedIssuer,
    private readonly keys: JWTVerifyGetKey,
    skewMs: number,
    private readonly now: () => number,
  ) {
    this.rules = { issuer: cfg.issuer, audiences: cfg.audiences, maxTtlMs: cfg.maxTtlMs, skewMs, remedy: REMEDY };
  }

  static create(cfg: TrustedIssuer, skewMs: number, now: () => number = Date.now): ExternalIssuer {
    const keys = 'url' in cfg.jwks ? remoteKeys(cfg, cfg.jwks.url) : fileKeys(cfg, cfg.jwks.file);
    return new ExternalIssuer(cfg, keys, skewMs, now);
  }

  async verify(token: string): Promise<AgentIdentity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: this.cfg.algorithms,
        issuer: this.cfg.issuer,
        audience: this.cfg.audiences,
        clockTolerance: Math.floor(this.rules.skewMs / 1000),
        currentDate: new Date(this.now()),
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      throw explainJose(err, this.rules);
    }
    checkLifetime(payload, this.rules, this.now());
    this.checkRequired(payload);
    return this.identityOf(payload, token);
  }

  private checkRequired(p: JWTPayload): void {
    for (const [path, want] of Object.entries(this.cfg.requiredClaims)) {
      const got = claimAt(p, path);
      if (got !== want)
        throw new IdentityError(
          'CLAIM_REQUIRED',
          `token from ${this.cfg.issuer} must have claim "${path}" = ${JSON.stringify(want)} (identity.trustedIssuers), it has ${got === undefined ? 'none' : JSON.stringify(got)}`,
        );
    }
  }

  private identityOf(p: JWTPayload, token: string): AgentIdentity {
    const subject = renderTemplate(this.cfg.subject, p, this.cfg.issuer);
    const groups = this.cfg.groups.map((g) => renderTemplate(g, p, this.cfg.issuer));
    if (this.cfg.groupsClaim !== undefined) {
      const extra = claimAt(p, this.cfg.groupsClaim);
      if (Array.isArray(extra)) for (const g of extra) if (typeof g === 'string' && g !== '') groups.push(g);
    }
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) if (!REGISTERED_CLAIMS.has(k)) claims[k] = v;
    claims.sub = p.sub;
    return {
      subject,
      issuer: this.cfg.issuer,
      groups: [...new Set(groups)],
      // Not every platform sets jti (older Kubernetes): the token's own digest identifies it then.
      tokenId: typeof p.jti === 'string' && p.jti !== '' ? p.jti : `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`,
      expiresAt: p.exp! * 1000,
      claims,
    };
  }
}
