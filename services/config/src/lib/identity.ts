import { z } from 'zod';
import { ConfigError } from './errors.js';
import { parseDuration, parseSize } from './units.js';

const duration = z.union([z.string(), z.number().nonnegative()]);
const size = z.union([z.string(), z.number().nonnegative()]);

/** Algorithms an external issuer may use; HMAC is never accepted (the gateway would hold the issuer's secret). */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/**
 * An external OIDC issuer whose workload tokens agents may present (GitHub Actions, Kubernetes
 * service accounts, SPIFFE JWT-SVIDs). `subject` and `groups` are templates over the token's
 * claims: `{repository}` is the claim `repository`, `{kubernetes.io.namespace}` a nested one.
 */
export const trustedIssuerSchema = z
  .object({
    /** Exact `iss` of the tokens, e.g. https://token.actions.githubusercontent.com. */
    issuer: z.string().min(1),
    /** Where its JSON Web Key Set is served; fetched, cached, refetched on an unknown `kid` (at most once per jwksCooldown). */
    jwksUrl: z.string().url().optional(),
    /** A JWKS file instead of a URL (re-read when it changes), e.g. a cluster's keys exported with kubectl. */
    jwksFile: z.string().optional(),
    /** At least one must be in the token's `aud`. */
    audiences: z.array(z.string().min(1)).min(1),
    /** @default ['RS256', 'ES256'] */
    algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'ES256']),
    /** Claims that must be present with exactly this value (e.g. `repository_owner: acme`). */
    requiredClaims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Subject template, e.g. `repo:{repository}:ref:{ref}`. @default '{sub}' */
    subject: z.string().min(1).default('{sub}'),
    /** Group templates, e.g. `[github-actions, 'repo:{repository}']`. @default [] */
    groups: z.array(z.string().min(1)).default([]),
    /** A claim holding a list of group names, added to `groups`. */
    groupsClaim: z.string().optional(),
    /** Longest accepted `exp − iat` for this issuer. @default identity.maxTtl */
    maxTtl: duration.optional(),
    /** Least time between two JWKS fetches caused by an unknown `kid`. @default 30s */
    jwksCooldown: duration.default('30s'),
    /** A JWKS older than this is refetched on the next token; on failure the cached keys stay in use. @default 10m */
    jwksCacheMaxAge: duration.default('10m'),
    /** Timeout of one JWKS fetch. @default 5s */
    jwksTimeout: duration.default('5s'),
  })
  .strict()
  .refine((i) => (i.jwksUrl === undefined) !== (i.jwksFile === undefined), { message: 'give exactly one of jwksUrl or jwksFile' });

export const identitySchema = z
  .object({
    issuer: z.string().default('chaperone'),
    audience: z.string().default('chaperone'),
    /** Ed25519 private key (PKCS#8 PEM) that signs the tokens `chaperone token issue` prints. */
    signingKeyFile: z.string(),
    defaultTtl: duration.default('15m'),
    /** Longest `exp − iat` accepted from our own tokens (and, unless an issuer says otherwise, from external ones). @default 24h */
    maxTtl: duration.default('24h'),
    /** How far clocks may disagree: a token is accepted up to this long after `exp` and before `nbf`/`iat`. @default 30s */
    clockSkew: duration.default('30s'),
    /** Largest token accepted on any protocol (PostgreSQL password, Bearer, Basic). @default 8KiB */
    maxTokenBytes: size.default('8KiB'),
    /** A session outlives its token by this much (the statement in flight finishes first), then ends. @default 0s */
    sessionGrace: duration.default('0s'),
    /** External OIDC issuers whose workload tokens are accepted beside our own. @default [] */
    trustedIssuers: z.array(trustedIssuerSchema).default([]),
  })
  .strict();

/**
 * Which identities may open which connection, checked before the upstream is dialled. A
 * connection with a rule admits only the subjects and groups it lists; one without a rule
 * follows `default`.
 */
export const accessSchema = z
  .object({
    /** What a connection without a rule does. @default allow */
    default: z.enum(['allow', 'deny']).default('allow'),
    rules: z
      .array(
        z
          .object({
            connection: z.string().min(1),
            subjects: z.array(z.string().min(1)).default([]),
            groups: z.array(z.string().min(1)).default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/**
 * How people log in (`chaperone login`): an OpenID provider and the CLI's public client there.
 * The API accepts its ID tokens (audience clientId) beside agents' tokens; the CLI learns these
 * settings from the API, so it needs no configuration file.
 */
export const loginSchema = z
  .object({
    issuer: z.string().url(),
    clientId: z.string().min(1),
    /**
     * The web console's client at the provider (authorization code + PKCE, redirect
     * `https://<console>/api/v1/login/oidc/callback`); its ID tokens are accepted like the CLI's.
     * Absent: the console offers token login only.
     */
    consoleClientId: z.string().min(1).optional(),
    /** @default <issuer>/jwks (oidc-provider's default; see the provider's discovery document) */
    jwksUrl: z.string().url().optional(),
    /** @default 'user:{sub}' */
    subject: z.string().min(1).default('user:{sub}'),
    /** @default 'groups' */
    groupsClaim: z.string().default('groups'),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'ES256', 'PS256', 'EdDSA']),
    /** Longest ID token lifetime accepted. @default 12h */
    maxTtl: duration.default('12h'),
  })
  .strict();

export interface LoginConfig {
  issuer: string;
  clientId: string;
  /** The console's client at the provider, if it logs people in there. */
  consoleClientId: string | undefined;
  /** The provider as a trusted issuer of the API's verifier. */
  trusted: TrustedIssuer;
}

export function compileLogin(c: z.output<typeof loginSchema> | undefined): LoginConfig | undefined {
  if (!c) return undefined;
  const issuer = c.issuer.replace(/\/$/, '');
  checkTemplate(c.subject, 'login.subject');
  return {
    issuer,
    clientId: c.clientId,
    consoleClientId: c.consoleClientId,
    trusted: {
      issuer, jwks: { url: c.jwksUrl ?? `${issuer}/jwks` }, audiences: [c.clientId, ...(c.consoleClientId ? [c.consoleClientId] : [])], algorithms: c.algorithms, requiredClaims: {}, subject: c.subject,
      groups: [], groupsClaim: c.groupsClaim, maxTtlMs: parseDuration(c.maxTtl, 'login.maxTtl'), jwksCooldownMs: 30_000, jwksCacheMaxAgeMs: 600_000, jwksTimeoutMs: 5000,
    },
  };
}

/** Roles of people on the API, from the groups of their login. */
export const rolesSchema = z
  .object({
    soc: z.array(z.string().min(1)).default(['soc']),
    approver: z.array(z.string().min(1)).default(['approvers']),
    admin: z.array(z.string().min(1)).default(['admins']),
  })
  .strict();

/** How long ClickHouse keeps recordings (a TTL per table; `0` keeps forever). */
export const retentionSchema = z
  .object({
    /** Every event (frames with result rows included). @default 90d */
    events: duration.default('90d'),
    /** One row per parsed command with its decision. @default 365d */
    commands: duration.default('365d'),
    /** One row per session (identity, counters, seal). @default 365d */
    sessions: duration.default('365d'),
  })
  .strict();

export interface TrustedIssuer {
  issuer: string;
  jwks: { url: string } | { file: string };
  audiences: string[];
  algorithms: string[];
  requiredClaims: Record<string, string | number | boolean>;
  subject: string;
  groups: string[];
  groupsClaim: string | undefined;
  maxTtlMs: number;
  jwksCooldownMs: number;
  jwksCacheMaxAgeMs: number;
  jwksTimeoutMs: number;
}

export interface IdentityConfig {
  issuer: string;
  audience: string;
  signingKeyFile: string;
  defaultTtlMs: number;
  maxTtlMs: number;
  clockSkewMs: number;
  maxTokenBytes: number;
  sessionGraceMs: number;
  trustedIssuers: TrustedIssuer[];
}

export interface AccessRule {
  connection: string;
  subjects: string[];
  groups: string[];
}

export interface Access {
  default: 'allow' | 'deny';
  rules: AccessRule[];
}

export type Roles = z.output<typeof rolesSchema>;

/** Retention per table in days (ClickHouse TTLs are whole days here); 0 keeps forever. */
export interface Retention {
  eventsDays: number;
  commandsDays: number;
  sessionsDays: number;
}

const DAY_MS = 86_400_000;

export function compileIdentity(c: z.output<typeof identitySchema>, path: (p: string) => string): IdentityConfig {
  const defaultTtlMs = parseDuration(c.defaultTtl, 'identity.defaultTtl');
  const maxTtlMs = parseDuration(c.maxTtl, 'identity.maxTtl');
  if (defaultTtlMs > maxTtlMs) throw new ConfigError('identity.defaultTtl must not exceed identity.maxTtl');
  const seen = new Set<string>([c.issuer]);
  const trustedIssuers = c.trustedIssuers.map((t, i): TrustedIssuer => {
    const field = `identity.trustedIssuers[${i}]`;
    if (seen.has(t.issuer)) throw new ConfigError(`${field}.issuer: "${t.issuer}" is listed twice (or is identity.issuer)`);
    seen.add(t.issuer);
    for (const tpl of [t.subject, ...t.groups]) checkTemplate(tpl, field);
    return {
      issuer: t.issuer,
      jwks: t.jwksUrl !== undefined ? { url: t.jwksUrl } : { file: path(t.jwksFile!) },
      audiences: t.audiences,
      algorithms: t.algorithms,
      requiredClaims: t.requiredClaims,
      subject: t.subject,
      groups: t.groups,
      groupsClaim: t.groupsClaim,
      maxTtlMs: t.maxTtl === undefined ? maxTtlMs : parseDuration(t.maxTtl, `${field}.maxTtl`),
      jwksCooldownMs: parseDuration(t.jwksCooldown, `${field}.jwksCooldown`),
      jwksCacheMaxAgeMs: parseDuration(t.jwksCacheMaxAge, `${field}.jwksCacheMaxAge`),
      jwksTimeoutMs: parseDuration(t.jwksTimeout, `${field}.jwksTimeout`),
    };
  });
  return {
    issuer: c.issuer,
    audience: c.audience,
    signingKeyFile: path(c.signingKeyFile),
    defaultTtlMs,
    maxTtlMs,
    clockSkewMs: parseDuration(c.clockSkew, 'identity.clockSkew'),
    maxTokenBytes: parseSize(c.maxTokenBytes, 'identity.maxTokenBytes'),
    sessionGraceMs: parseDuration(c.sessionGrace, 'identity.sessionGrace'),
    trustedIssuers,
  };
}

function checkTemplate(tpl: string, field: string): void {
  const stripped = tpl.replace(/\{[A-Za-z0-9_.:/-]+\}/g, '');
  if (/[{}]/.test(stripped)) throw new ConfigError(`${field}: template "${tpl}" has an unbalanced or empty {placeholder}`);
}

export function compileAccess(c: z.output<typeof accessSchema>, connectionNames: string[]): Access {
  for (const [i, r] of c.rules.entries()) {
    if (!connectionNames.includes(r.connection))
      throw new ConfigError(`access.rules[${i}].connection: no connection named "${r.connection}" (connections: ${connectionNames.join(', ') || 'none'})`);
  }
  return { default: c.default, rules: c.rules };
}

export function compileRetention(c: z.output<typeof retentionSchema>): Retention {
  const days = (v: string | number, field: string): number => {
    const ms = parseDuration(v, field);
    if (ms !== 0 && ms < DAY_MS) throw new ConfigError(`${field}: keep recordings at least 1d (or 0 to keep them forever)`);
    return Math.ceil(ms / DAY_MS);
  };
  return {
    eventsDays: days(c.events, 'retention.events'),
    commandsDays: days(c.commands, 'retention.commands'),
    sessionsDays: days(c.sessions, 'retention.sessions'),
  };
}
