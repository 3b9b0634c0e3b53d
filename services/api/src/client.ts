/**
 * @module @chaperone/api/client
 * The client side of the API alone: the gRPC client and the replay transcript renderers. The
 * main entry also starts servers, so importing it loads the recording store, Kafka and the
 * metrics registry; the CLI imports this one instead, so `chaperone replay` starts printing
 * sooner (a short-lived command pays for every module it loads).
 */
export { createApiClient } from './lib/client.js';
export type { ApiClient, ApiClientOptions, ReplayOptions, WhoAmI } from './lib/client.js';
export { ApiError } from './lib/errors.js';
export { jsonStyle, isoMicros } from './lib/json-style.js';
export type { EventMsg as ReplayEvent, SessionMsg } from './lib/proto.js';
export { buildTranscript, formatTranscript, formatTable, formatMicros, LiveTranscript, TranscriptJsonWriter, eventBody } from './lib/transcript/index.js';
export { interleaveMcpReplays, mcpSessionsQuery, mergeMcpTranscripts, type McpTranscript, type McpTranscriptCommand, type TimedText } from './lib/transcript/index.js';
export type { Transcript, TranscriptCommand, FormatOptions } from './lib/transcript/index.js';
