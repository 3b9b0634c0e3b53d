export { PgListener, type PgListenerDeps } from './listener.js';
export { createPgMetrics, type PgMetrics } from './metrics.js';
export { KafkaCancelBus, type CancelBus } from './cancel-bus.js';
export { ABORT_FRAME_TYPE, abortToken } from './tx-abort.js';
