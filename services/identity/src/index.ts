/**
 * @module @chaperone/identity
 * Short-lived agent identities: Ed25519-signed JWTs (EdDSA, RFC 8037) issued by `chaperone
 * token issue` and verified by every gateway node from the same configured key file.
 */
export { TokenIssuer } from './lib/issuer.js';
export type { IssuedToken } from './lib/issuer.js';
export { TokenVerifier } from './lib/verifier.js';
export { IdentityError } from './lib/errors.js';
export type { IdentityErrorCode } from './lib/errors.js';
export type { AgentIdentity, IssueOptions, ClockOptions } from './lib/types.js';
