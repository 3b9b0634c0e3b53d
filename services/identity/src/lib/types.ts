/** Who an agent is, as proven by a verified token; this is what sessions and policies see. */
export interface AgentIdentity {
  /** `sub`, e.g. `ci:deploy-bot`. */
  subject: string;
  /** `iss`. */
  issuer: string;
  groups: string[];
  /** `jti`: unique per token, recorded with every session. */
  tokenId: string;
  /** `exp` in ms since the epoch. */
  expiresAt: number;
  /** Every claim that is not a registered JWT claim or `groups` (e.g. `repo`, `pipeline`). */
  claims: Record<string, unknown>;
}

/** What `TokenIssuer.issue` puts in a token. */
export interface IssueOptions {
  subject: string;
  groups?: string[];
  /** Lifetime; defaults to identity.defaultTtl and may not exceed identity.maxTtl. */
  ttlMs?: number;
  /** Extra claims; registered claim names (iss, sub, aud, exp, nbf, iat, jti) and `groups` are refused. */
  claims?: Record<string, unknown>;
}

/** Test hook: the clock (ms since the epoch) used for iat/nbf/exp and for checking them. @default Date.now */
export interface ClockOptions {
  now?: () => number;
}

/** Registered JWT claims (RFC 7519 §4.1). */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

/** Claims this package owns; callers may not set them through `claims`. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'groups']);
