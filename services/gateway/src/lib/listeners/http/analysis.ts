import type { IncomingHttpHeaders } from 'node:http';
import type { HttpCommand, RequestTarget } from '../../protocols/http/index.js';
import type { ToolView } from '@chaperone/mcp-tools';
import type { BodyTransform, JsonRpcId } from '../../protocols/mcp/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import type { CredentialScope } from './credentials.js';
import type { HttpConnection, Refusal } from './types.js';
import type { UpstreamPool } from './upstream.js';

/** A request as the protocol analysers see it (head only; the body comes through `consume`). */
export interface RequestInfo {
  method: string;
  target: RequestTarget;
  /** The path as the upstream API sees it (route prefix removed when it is stripped), percent-encoded. */
  routedPath: string;
  headers: IncomingHttpHeaders;
}

/** Lets an analyser ask the upstream something before the decision (e.g. does this tag exist). */
export interface UpstreamProbe {
  conn: HttpConnection;
  pool: UpstreamPool;
  /** Headers with the connection's credentials for this scope. */
  auth(scope: CredentialScope): Promise<[string, string][]>;
  /** The upstream request path (base path prepended) for a path as the upstream API sees it. */
  upstreamPath(apiPath: string): string;
}

/**
 * What a protocol analyser makes of one request. The listener reads at most `bodyBytes` of the
 * body before deciding (feeding each chunk to `consume` until it returns true), then asks for the
 * command; the request is forwarded only after the command and its decision are recorded.
 */
export interface Analysis {
  /** How much of the body the decision may depend on (0: none). */
  bodyBytes: number;
  consume?(chunk: Buffer): boolean;
  /** `ended`: the whole body was read. */
  command(ended: boolean, probe: UpstreamProbe): HttpCommand | Promise<HttpCommand>;
  /** For registry token scopes. */
  scope: CredentialScope;
  /**
   * A protocol-native refusal (e.g. a git report-status that rejects each ref); `approval` is
   * the approval's state when the request is held (id, status, approverGroups, …).
   */
  refusal?(status: number, message: string, approval?: Record<string, unknown>): Refusal | undefined;
  /** The same error for every request of the body, in the protocol's form (MCP: a JSON-RPC error for each call, by id). */
  refuseAll?(status: number, message: string): Refusal;
  /** The exact command text a held request's approval is bound to, when not the request line + body digest (MCP: the calls without their JSON-RPC ids). */
  approvalText?(): string;
  /** Several commands in one request (an MCP JSON-RPC batch): decides each, returns the request's decision. */
  decideEach?(hooks: McpHooks): PolicyDecision & { commandId: number };
  /** Rewrites the response body before it is masked, recorded and forwarded (MCP: tools/list, the server's event streams). */
  responseTransform?(headers: IncomingHttpHeaders, hooks: McpHooks): BodyTransform | undefined;
  /** A successful answer ends the recorded session (MCP: DELETE of the session). */
  endsSession?: boolean;
}

/** What an analyser that decides per message gets from the exchange. */
export interface McpHooks {
  /** The connection's name (the MCP server). */
  server: string;
  /** Records Command + Decision for one message (`decision`: what to record instead of evaluating, e.g. from `evaluate`). */
  decide(cmd: HttpCommand, decision?: PolicyDecision): PolicyDecision & { commandId: number };
  /** Asks the policy without recording (e.g. which listed tools the identity may call). */
  evaluate(cmd: HttpCommand): PolicyDecision;
  /** Tools hidden from a tools/list answer. */
  hidden(tools: string[]): void;
  /** The path of this exchange at the upstream, base path included (where a Streamable HTTP server takes the agent's messages). */
  upstreamPath: string;
  /** A URL the server gave the agent (the HTTP+SSE `endpoint`), as the agent must use it through the gateway. */
  agentUrl(url: string): string;
  /**
   * Sends the server a JSON-RPC message in the agent's place (the error that refuses a server
   * request), recorded before it is sent; `path` at the upstream, query included.
   */
  answerServer(path: string, message: { id: JsonRpcId } & Record<string, unknown>, mcpSessionId: string | null): void;
  /** The MCP tool registry for this server (pins; issue #15); absent when the node runs without one. */
  tools?: {
    view(tool: string): ToolView | undefined;
    /** A tools/list answer showed this entry: pins it when new; returns where it stands. */
    observe(entry: Record<string, unknown>): ToolView | undefined;
  };
}

/** The routed path's segments, percent-decoded (the target checks already refused bad escapes). */
export function routedSegments(info: RequestInfo): string[] {
  return info.routedPath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}
