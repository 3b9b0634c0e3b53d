/**
 * @module @chaperone/api
 * The gRPC API (schemas/proto/chaperone.proto, service chaperone.v1.Chaperone) over the recording
 * store: sessions, replay (stored, or live from Kafka), read-only SQL, verify, with token auth and
 * a SOC role. Also its client and the replay transcript renderers (whole, or event by event), for
 * the CLI.
 */
export { startApiServer } from './lib/server.js';
export type { ApiServer, ApiServerOptions } from './lib/server.js';
export { createApiClient } from './lib/client.js';
export type { ApiClient, ApiClientOptions, ReplayOptions } from './lib/client.js';
export { ApiError } from './lib/errors.js';
export type { EventMsg as ReplayEvent, SessionMsg } from './lib/proto.js';
export { buildTranscript, formatTranscript, formatTable, formatMicros, LiveTranscript, TranscriptJsonWriter, eventBody } from './lib/transcript/index.js';
export type { Transcript, TranscriptCommand, FormatOptions } from './lib/transcript/index.js';
