/**
 * @module @chaperone/gateway
 * A gateway node: protocol listeners (PostgreSQL wire; HTTP for Git, OCI registries, the
 * Kubernetes API and REST APIs), token authentication, credential injection, per-command
 * policy decisions, inline masking and record-before-forward to the event log.
 */
// First: kafkajs must load with the native CRC-32C (sinks/kafka/native-crc.ts).
import './lib/sinks/kafka/native-crc.js';
// Then its produce requests encoded in one pass (sinks/kafka/produce-encoder.ts).
import './lib/sinks/kafka/produce-encoder.js';
export { GatewayNode, type GatewayNodeOptions } from './lib/node.js';
export { PolicyEngine, PolicyBundleError } from './lib/policy/index.js';
export type { PolicyDecision, PolicyInput, PolicyCommand } from './lib/policy/index.js';
export { parseSql, initSqlParser, sqlCommand } from './lib/commands/index.js';
export type { SqlParse, SqlStatement } from './lib/commands/index.js';
export { SessionRecorder, type EventSink } from './lib/recording/index.js';
export { KafkaSink, ProduceBatcher, kafkaProduceEncoding } from './lib/sinks/kafka/index.js';
export { PgListener, ABORT_FRAME_TYPE, abortToken } from './lib/listeners/postgres/index.js';
export { HttpListener } from './lib/listeners/http/index.js';
export { argsSha256 as mcpArgsSha256 } from './lib/protocols/mcp/index.js';
export { Masker, StreamMasker, PgResultMasker, effectiveRules } from './lib/masking/index.js';
export { RecordingError, AuthError, UpstreamError } from './lib/errors.js';
