/**
 * The types an HTTP exchange hands from step to step (exchange.ts decides and forwards the
 * request, response.ts relays the answer). In a module of their own so those two import each
 * other in one direction only (issue #19: no import cycle, type-only imports included).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@chaperone/observability';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import type { ApprovalGate } from '../../approvals/index.js';
import type { Analysis } from './analysis.js';
import type { McpToolPins } from './analyze-mcp.js';
import type { CredentialSource } from './credentials.js';
import type { HttpMetrics } from './metrics.js';
import type { HttpSession } from './session.js';
import type { HttpConnection, Kind } from './types.js';
import type { UpstreamPool } from './upstream.js';

export interface ExchangeDeps {
  log: Logger;
  metrics: HttpMetrics;
  pool: UpstreamPool;
  policy: { evaluate(input: PolicyInput): PolicyDecision };
  credentials(conn: HttpConnection): CredentialSource;
  maxBodyBytes: number;
  maxInFlightBytes: number;
  /** Holds requests the policy sends to approval; without it they are refused. */
  approvals?: ApprovalGate;
  /** approvals.httpHold: the longest a request waits for its approval before 403 + Retry-After. */
  httpHoldMs: number;
  /** The MCP tool registry (pinned tool definitions); without it MCP tools are not pinned. */
  mcpTools?: McpToolPins;
}

/** One routed, authenticated request on its way through the session. */
export interface Exchange {
  session: HttpSession;
  req: IncomingMessage;
  res: ServerResponse;
  conn: HttpConnection;
  kind: Kind;
  analysis: Analysis;
  /** The path as the upstream API sees it (route prefix removed when stripped), and the original path + query. */
  routedPath: string;
  path: string;
  query: string;
  /** Where the agent reached us, for rewriting upstream redirects: `https://host:port` + prefix. */
  publicBase: string;
  routePrefix: string | undefined;
  clientIp: string;
  tls: boolean;
  /** The Command its answer belongs to, once decided (0: none, or one per message); set by runExchange. */
  commandId?: number;
}
