export { HttpListener, type HttpListenerDeps } from './listener.js';
export { createHttpMetrics, type HttpMetrics } from './metrics.js';
