/**
 * @module @chaperone/api
 * The gRPC API (schemas/proto/chaperone.proto, service chaperone.v1.Chaperone) over the recording
 * store: sessions, replay (stored, or live from Kafka), read-only SQL, verify, and the approval
 * workflows, with token auth and roles (soc, approver, admin) from the token's groups. Also its client and the replay transcript renderers (whole, or event by event), for
 * the CLI.
 */
export { startApiServer } from './lib/server.js';
export type { ApiServer, ApiServerOptions } from './lib/server.js';
export type { ApprovalsBackend } from './lib/approvals.js';
export type { McpToolsBackend } from './lib/mcp-tools.js';
export { rolesOf } from './lib/auth.js';
export type { Role } from './lib/auth.js';
export { createApiClient } from './lib/client.js';
export type { ApiClient, ApiClientOptions, ReplayOptions, WhoAmI } from './lib/client.js';
export { DASHBOARD_RANGES } from './lib/dashboard.js';
export type { DashboardView, DashboardRangeName, ServiceHealth } from './lib/dashboard.js';
export { ApiError } from './lib/errors.js';
export type { EventMsg as ReplayEvent, SessionMsg } from './lib/proto.js';
export { buildTranscript, formatTranscript, formatTable, formatMicros, LiveTranscript, TranscriptJsonWriter, eventBody } from './lib/transcript/index.js';
export type { Transcript, TranscriptCommand, FormatOptions } from './lib/transcript/index.js';
