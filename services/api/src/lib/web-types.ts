/**
 * The console's wire types: what the JSON API (web.ts) answers, declared once and free of Node
 * types so the browser bundle can import them type-only (`@chaperone/api/web-types`). The API's
 * own code is typed with these, so the console and the server cannot drift apart.
 */
import type { ApprovalSummary } from '@chaperone/approvals-contract';

/** One row of the approvals inbox (`GET /api/v1/approvals`): the approvals client's summary of a workflow. */
export type WebApprovalSummary = ApprovalSummary;

/** A body of an HTTP exchange as the console shows it. */
export interface WebBody {
  /** text and json in full (up to `shownBytes`), git as its pkt-lines, binary as size + digest. */
  kind: 'text' | 'json' | 'git' | 'binary';
  /** The text (json pretty-printed); the pkt-lines joined by newlines for git; absent for binary. */
  text?: string;
  /** Bytes of the body the recording holds. */
  bytes: number;
  /** Bytes of it shown in `text` (the rest is counted, not sent). */
  shownBytes: number;
  /** SHA-256 (hex) of the recorded bytes. */
  sha256: string;
  /** The gateway stored the body only in part: its real size and digest. */
  stored?: { bytes: number; storedBytes: number; sha256: string };
}

/** One recorded piece of an upgraded tunnel (`kubectl exec`, attach): its channel and bytes. */
export interface TunnelChunk {
  tsMicros: number;
  /** stdin, stdout, stderr, error, resize, or data (a tunnel without channels). */
  channel: string;
  /** The bytes, base64. */
  data: string;
}

/** A decision and approval, as the transcript carries them. */
export interface WebDecision {
  result: string;
  reasons: string[];
  policyRevision: string;
}
export interface WebApproval {
  approvalId: string;
  outcome?: string;
  approvers?: string[];
  reason?: string;
}

/** The console's roles (config roles): soc sees recordings, approver answers approvals, admin both and ends sessions. */
export type WebRole = 'soc' | 'approver' | 'admin';

/** What `GET /api/v1/whoami` (and the login) answers: who the token says, and the roles its groups give. */
export interface WebWhoAmI {
  subject: string;
  issuer: string;
  groups: string[];
  roles: WebRole[];
  expiresMicros: number;
  tokenId: string;
}

/** A PostgreSQL ErrorResponse as the transcript shows it. */
export interface WebPgError {
  severity: string;
  code: string;
  message: string;
  detail?: string;
}

/** One statement of a PostgreSQL transcript with its decision, approval and result. */
export interface WebTranscriptCommand {
  seq: number;
  tsMicros: number;
  /** 0 when the client sent a query the gateway recorded no Command for. */
  commandId: number;
  action: string;
  text: string;
  targets: string[];
  decision?: WebDecision;
  approval?: WebApproval;
  result: { columns?: string[]; rows: (string | null)[][]; tag?: string; error?: WebPgError; notExecuted?: boolean };
}

/** What `GET /api/v1/sessions/:id/transcript` answers (the API's transcript carries more; the console reads these). */
export interface WebTranscript {
  sessionId: string;
  nodeId: string;
  commands: WebTranscriptCommand[];
  events: number;
  /** Rows left out per command seq (past the API's TRANSCRIPT_ROWS). */
  rowsOmitted: Record<number, number>;
}

/** The counters of a session (schemas/proto Counters): a message is one protocol message, a frame one recorded Frame event. */
export interface WebCounters {
  framesIn: number;
  framesOut: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  commands: number;
  denied: number;
}

/** A session as `GET /api/v1/sessions` and `/sessions/:id` answer it (chaperone.proto Session). */
export interface WebSession {
  sessionId: string;
  subject: string;
  issuer: string;
  groups: string[];
  tokenId: string;
  connection: string;
  protocol: string;
  clientAddress: string;
  tls: boolean;
  attributesJson: string;
  nodeId: string;
  startedMicros: number;
  ended: boolean;
  endedMicros: number;
  endReason: string;
  endError: string;
  counters: WebCounters;
  lastSeq: number;
  /** @deprecated the same as sealedHash */
  finalHash: string;
  /** Hex hash the seal signs (of the event before SessionEnded); empty while open. */
  sealedHash: string;
  sealedBy: string;
  complete: boolean;
  sealed: boolean;
  state: 'open' | 'sealed' | 'ended' | 'incomplete';
}

/** What `POST /api/v1/sessions/:id/verify` answers (chaperone.proto VerifyResponse). */
export interface WebVerify {
  sessionId: string;
  status: 'intact' | 'incomplete' | 'broken';
  hasFirstBadSeq: boolean;
  firstBadSeq: number;
  detail: string;
  events: number;
  lastSeq: number;
  sealedBy: string;
  /** Hex hash of the newest event checked (SessionEnded's own when ended). */
  headHash: string;
  /** Hex hash the seal signs; empty when the gateway did not seal. */
  sealedHash: string;
  sealedIncomplete: boolean;
}

/** What `POST /api/v1/query` answers (chaperone.proto QueryResponse). */
export interface WebQueryResult {
  columns: { name: string; type: string }[];
  rows: { cells: { text: string; isNull: boolean }[] }[];
  truncated: boolean;
}

/**
 * One request of an HTTP-based session (HTTP, git, OCI, Kubernetes, MCP) with what the gateway
 * parsed from it, what it decided, and what came back.
 */
export interface WebExchange {
  seq: number;
  tsMicros: number;
  /** 0 when the gateway recorded no Command for the request. */
  commandId: number;
  protocol: string;
  action: string;
  text: string;
  targets: string[];
  /** The parsed command (git ref updates, registry push, Kubernetes verb/resource/namespace/name, MCP method and tool). */
  details: Record<string, unknown>;
  /** The parsed fields, one line each (as `chaperone replay` prints them). */
  fields: string[];
  decision?: WebDecision;
  approval?: WebApproval;
  /** The response's status line (`403 Forbidden`) and code; absent when none was recorded. */
  status?: { code: number; line: string; tsMicros: number };
  request?: WebBody;
  response?: WebBody;
  /** An upgraded connection's data by channel, in time order (empty for plain requests). */
  tunnel: TunnelChunk[];
}

/** What `GET /api/v1/sessions/:id/exchanges` answers. */
export interface WebExchanges {
  sessionId: string;
  exchanges: WebExchange[];
  /** Tunnel chunks dropped past the cap (the recording holds them all). */
  tunnelOmitted: number;
}

/** One bucket of the dashboard (and the totals, whose startMicros is the range's start). */
export interface WebDashboardBucket {
  startMicros: number;
  sessions: number;
  commands: number;
  denied: number;
  /** Commands that asked for an approval (whatever its outcome). */
  approvals: number;
  /** Values the gateway masked in results. */
  masked: number;
}

/** A service the API checked: its /healthz answer (or the store's ping) and how long it took. */
export interface WebServiceHealth {
  name: string;
  address: string;
  ok: boolean;
  /** The state it reported, or why it could not be asked. */
  detail: string;
  millis: number;
}

/** A gateway node the API probed (config api.gatewayNodes): its /healthz and what its /metrics tell. */
export interface WebGatewayNode {
  id: string;
  /** The node's health and metrics base URL, as configured. */
  url: string;
  /** Its /healthz answered 200 (running, every check passing). */
  ok: boolean;
  /** The state it reported and its failing checks, or why it could not be asked. */
  detail: string;
  /** Sessions open on it now (the sum of its chaperone_*_sessions_active gauges); absent when its metrics could not be read. */
  sessionsOpen?: number;
  /** Its Chaperone version (chaperone_build_info), when it exports one. */
  version?: string;
  /** The Node.js version it runs (chaperone_nodejs_version_info). */
  runtime?: string;
  millis: number;
}

/** The Dashboard operation's answer (`GET /api/v1/dashboard`, chaperone.proto DashboardResponse). */
export interface WebDashboard {
  range: '1h' | '24h' | '7d';
  sinceMicros: number;
  untilMicros: number;
  bucketMicros: number;
  buckets: WebDashboardBucket[];
  totals: WebDashboardBucket;
  /** Identities with the most sessions started in the range. */
  topIdentities: { subject: string; sessions: number; commands: number; denied: number }[];
  /** Denied command texts, most often denied first. */
  topDenied: { text: string; action: string; count: number; identities: number; lastMicros: number }[];
  nowMicros: number;
  /** Time of the newest event in the store, 0 when it holds none. */
  newestEventMicros: number;
  /** Records the materializer's consumer group is behind the topic's end, summed over partitions. */
  materializerLag: number;
  /** Whether the materializer's metrics could be read (materializerLag is meaningless otherwise). */
  materializerLagKnown: boolean;
  services: WebServiceHealth[];
  /** Every configured gateway node (api.gatewayNodes), in config order; empty when none is configured. */
  gatewayNodes: WebGatewayNode[];
}
