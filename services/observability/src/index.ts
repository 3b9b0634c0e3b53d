/**
 * @module @chaperone/observability
 * What every service shares to be operable: pino structured logs, a Prometheus registry,
 * the `/healthz` `/livez` `/metrics` endpoint, and the explicit lifecycle State.
 */
export { createLogger } from './lib/logger.js';
export { errorMessage } from './lib/errors.js';
export type { Logger } from './lib/logger.js';
export { Lifecycle, IllegalTransitionError } from './lib/lifecycle.js';
export type { State } from './lib/lifecycle.js';
export { createRegistry, startOpsServer } from './lib/ops-server.js';
export type { HealthReport, OpsServerOptions } from './lib/ops-server.js';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
