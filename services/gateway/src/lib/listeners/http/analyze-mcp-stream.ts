import type { IncomingHttpHeaders } from 'node:http';
import type { HttpCommand } from '../../protocols/http/index.js';
import { argsSha256, mcpStreamTransform, refusedServerRequest, type JsonRpcId, type McpStreamTransform, type ServerMessage } from '../../protocols/mcp/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import type { McpHooks } from './analysis.js';

// The server's side of an MCP session as the gateway decides on it: requests the server makes of
// the agent (sampling/createMessage, elicitation/create, roots/list, ping) and its notifications
// arrive in SSE events, on the answer to a POST, on the GET stream (Streamable HTTP), or on the
// one stream of the HTTP+SSE transport (2024-11-05). Each is a command recorded with its
// decision before the event is forwarded; a refused request never reaches the agent and the
// gateway answers the server with a JSON-RPC error in the agent's place.

/** Why a server request the policy holds for approval is refused instead (it cannot wait on a person). */
export const SERVER_NOT_HELD = 'a request of the server is not held for approval; refused (policy: mcp-server-request)';

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/** The command a message of the server becomes: `command.mcp` with direction "server" and its params as arguments. */
export function serverCommand(m: ServerMessage, server: string, mcpSessionId: string | null, protocolVersion: string | null): HttpCommand {
  const p = m.value.params;
  const params = p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
  const sha = argsSha256(params);
  return {
    protocol: 'mcp',
    action: m.method,
    targets: [],
    text: `server ${m.method} sha256:${sha}`,
    details: { server, direction: 'server', method: m.method, id: m.id, tool: null, arguments: params, argsSha256: sha, mcpSessionId, protocolVersion },
  };
}

/** What the gateway records and does for one message of the server: `forward` when it goes on to the agent; the Command it recorded. */
export function decideServerMessage(m: ServerMessage, h: McpHooks, ctx: { answerPath: () => string; mcpSessionId: string | null; protocolVersion: string | null }): { forward: boolean; commandId: number } {
  const cmd = serverCommand(m, h.server, ctx.mcpSessionId, ctx.protocolVersion);
  const own = h.evaluate(cmd);
  const recorded: PolicyDecision = own.result === 'approval' ? { ...own, result: 'deny', reasons: [...own.reasons, SERVER_NOT_HELD] } : own;
  const d = h.decide(cmd, recorded);
  if (d.result === 'allow') return { forward: true, commandId: d.commandId };
  if (m.kind === 'request') h.answerServer(ctx.answerPath(), refusedServerRequest(m.id, d.reasons) as { id: JsonRpcId }, ctx.mcpSessionId);
  return { forward: false, commandId: d.commandId };
}

/**
 * The transform of a server event stream. `toolsIds`: the tools/list requests of the POST it
 * answers, or 'any' (GET stream, HTTP+SSE). The session id is the agent's header, or the
 * server's (an initialize answer), or the HTTP+SSE endpoint's `sessionId`. Each event is recorded
 * with its command (events v3): a server message's own, an answer its request's (`calls`: the
 * POST's requests by id; none on a GET stream, whose answers came in on another exchange).
 */
export function serverStream(h: McpHooks, req: IncomingHttpHeaders, res: IncomingHttpHeaders, opts: { toolsIds: ReadonlySet<JsonRpcId> | 'any'; pending: JsonRpcId[]; mayCall: (tool: string, entry: Record<string, unknown>) => boolean; calls?: ReadonlyMap<JsonRpcId, number> }): McpStreamTransform {
  // HTTP+SSE: the server takes the agent's messages (and the gateway's answers) at its endpoint.
  let endpoint: string | undefined;
  let sessionId = header(req, 'mcp-session-id') ?? header(res, 'mcp-session-id');
  let serverCommandId = 0;
  const ctx = {
    answerPath: () => endpoint ?? h.upstreamPath,
    get mcpSessionId() {
      return sessionId;
    },
    protocolVersion: header(req, 'mcp-protocol-version'),
  };
  return mcpStreamTransform({
    toolsIds: opts.toolsIds,
    pending: opts.pending,
    mayCall: opts.mayCall,
    onHidden: (hidden) => h.hidden(hidden),
    serverMessage: (m) => {
      const r = decideServerMessage(m, h, ctx);
      serverCommandId = r.commandId;
      return r.forward;
    },
    commandOf: (kind, id) => (kind === 'response' ? (opts.calls?.get(id) ?? 0) : serverCommandId),
    rewriteEndpoint: (url) => {
      endpoint = endpointPath(url, h.upstreamPath);
      sessionId ??= new URL(endpoint, 'http://x').searchParams.get('sessionId');
      return h.agentUrl(url);
    },
  });
}

/** The endpoint's path + query as the upstream sees it (relative URLs resolve against the stream's path). */
function endpointPath(url: string, streamPath: string): string {
  const u = new URL(url, `http://upstream${streamPath}`);
  return `${u.pathname}${u.search}`;
}
