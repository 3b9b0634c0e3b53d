/**
 * @module @chaperone/gateway
 * A gateway node: protocol listeners (PostgreSQL wire), token authentication, credential
 * injection, per-command policy decisions and record-before-forward to the event log.
 */
export { GatewayNode, type GatewayNodeOptions } from './lib/node.js';
export { PolicyEngine, PolicyBundleError } from './lib/policy/index.js';
export type { PolicyDecision, PolicyInput, PolicyCommand } from './lib/policy/index.js';
export { parseSql, initSqlParser, sqlCommand } from './lib/commands/index.js';
export type { SqlParse, SqlStatement } from './lib/commands/index.js';
export { SessionRecorder, type EventSink } from './lib/recording/index.js';
export { KafkaSink } from './lib/sinks/kafka/index.js';
export { RecordingError, AuthError, UpstreamError } from './lib/errors.js';
