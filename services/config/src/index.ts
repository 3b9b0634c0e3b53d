/**
 * @module @chaperone/config
 * The one place that reads chaperone.yaml and the environment: a zod schema, defaults, unit
 * conversion and secret resolution, producing an immutable {@link Config} for every service.
 */
export { loadConfig, compileOptions, defaultConfigPath } from './lib/compile.js';
export type {
  Config,
  Connection,
  PostgresConnection,
  HttpConnection,
  PostgresUpstream,
  HttpUpstream,
  HttpCredentials,
  HttpProxyListener,
  BodyStore,
  HostPort,
  LoadOptions,
  Approvals,
  Approver,
  SlackApprovals,
} from './lib/compile.js';
export type { Access, AccessRule, IdentityConfig, LoginConfig, Retention, Roles, TrustedIssuer } from './lib/identity.js';
export { configSchema } from './lib/schema.js';
export type { RawConfig } from './lib/schema.js';
export { ConfigError } from './lib/errors.js';
export { parseDuration, parseSize } from './lib/units.js';
