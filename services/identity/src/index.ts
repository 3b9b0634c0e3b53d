/**
 * @module @chaperone/identity
 * Who an agent is: short-lived Ed25519-signed JWTs (EdDSA, RFC 8037) issued by `chaperone token
 * issue`, and workload tokens of trusted OIDC issuers (GitHub Actions, Kubernetes service
 * accounts, SPIFFE JWT-SVIDs) mapped to a subject and groups; verified by every gateway node and
 * the API with the same limits (size, lifetime, clock skew).
 */
export { TokenIssuer } from './lib/issuer.js';
export type { IssuedToken } from './lib/issuer.js';
export { TokenVerifier } from './lib/verifier.js';
export { AccessDeniedError, IdentityError } from './lib/errors.js';
export { ConnectionAccess } from './lib/access.js';
export type { IdentityErrorCode } from './lib/errors.js';
export type { AgentIdentity, IssueOptions, ClockOptions } from './lib/types.js';
export { claimAt, renderTemplate } from './lib/claims.js';
