import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { IdentityConfig } from '@chaperone/config';
import { IdentityError } from './errors.js';
import { loadSigningKeys, type SigningKeys } from './keys.js';
import { fmtMs } from './limits.js';
import { RESERVED_CLAIMS, type ClockOptions, type IssueOptions } from './types.js';

/** A freshly issued token and what it says, for callers that show or record it. */
export interface IssuedToken {
  token: string;
  subject: string;
  groups: string[];
  tokenId: string;
  /** ms since the epoch (whole seconds, as in `exp`). */
  expiresAt: number;
}

/** Signs short-lived agent identity tokens (EdDSA over Ed25519, RFC 8037) with the configured key. */
export class TokenIssuer {
  private constructor(
    private readonly cfg: IdentityConfig,
    private readonly keys: SigningKeys,
    private readonly now: () => number,
  ) {}

  static async fromConfig(identity: IdentityConfig, opts: ClockOptions = {}): Promise<TokenIssuer> {
    return new TokenIssuer(identity, await loadSigningKeys(identity.signingKeyFile), opts.now ?? Date.now);
  }

  /** Issues a token; ttl defaults to identity.defaultTtl and is refused above identity.maxTtl. */
  async issue(o: IssueOptions): Promise<string> {
    return (await this.issueDetailed(o)).token;
  }

  /** Like {@link issue}, also returning the token id and expiry. */
  async issueDetailed(o: IssueOptions): Promise<IssuedToken> {
    const { subject, groups, ttlMs, claims } = this.check(o);
    const nowSec = Math.floor(this.now() / 1000);
    const exp = nowSec + Math.ceil(ttlMs / 1000);
    const tokenId = randomUUID();
    const token = await new SignJWT({ ...claims, groups })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: this.keys.keyId })
      .setIssuer(this.cfg.issuer)
      .setAudience(this.cfg.audience)
      .setSubject(subject)
      .setJti(tokenId)
      .setIssuedAt(nowSec)
      .setNotBefore(nowSec)
      .setExpirationTime(exp)
      .sign(this.keys.privateKey);
    return { token, subject, groups, tokenId, expiresAt: exp * 1000 };
  }

  private check(o: IssueOptions): { subject: string; groups: string[]; ttlMs: number; claims: Record<string, unknown> } {
    const subject = o.subject?.trim();
    if (!subject) throw new IdentityError('REQUEST_INVALID', 'a token needs a subject, e.g. --subject ci:deploy-bot');
    const groups = [...new Set((o.groups ?? []).map((g) => g.trim()).filter((g) => g !== ''))];
    const ttlMs = o.ttlMs ?? this.cfg.defaultTtlMs;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new IdentityError('REQUEST_INVALID', `token lifetime must be positive, got ${ttlMs} ms`);
    if (ttlMs > this.cfg.maxTtlMs) {
      throw new IdentityError(
        'TTL_TOO_LONG',
        `token lifetime ${fmtMs(ttlMs)} exceeds the maximum ${fmtMs(this.cfg.maxTtlMs)} (identity.maxTtl); ask for a shorter --ttl`,
      );
    }
    const claims = o.claims ?? {};
    const reserved = Object.keys(claims).filter((k) => RESERVED_CLAIMS.has(k));
    if (reserved.length > 0) {
      throw new IdentityError('REQUEST_INVALID', `claims ${reserved.join(', ')} are set by the issuer and cannot be given as extra claims`);
    }
    return { subject, groups, ttlMs, claims };
  }
}
