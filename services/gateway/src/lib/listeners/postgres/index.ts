export { PgListener, type PgListenerDeps } from './listener.js';
export { createPgMetrics, type PgMetrics } from './metrics.js';
