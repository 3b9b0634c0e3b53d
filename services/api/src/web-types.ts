/**
 * @module @chaperone/api/web-types
 * The JSON API's wire types for the web console, types only and free of Node types: the console
 * imports them with `import type`, the API is typed with them, so the two cannot drift.
 */
export type {
  TunnelChunk, WebApproval, WebApprovalSummary, WebBody, WebCounters, WebDashboard, WebDashboardBucket, WebDecision, WebExchange, WebExchanges, WebGatewayNode,
  WebPgError, WebQueryResult, WebServiceHealth, WebSession, WebTranscript, WebTranscriptCommand, WebVerify, WebRole, WebWhoAmI,
} from './lib/web-types.js';
