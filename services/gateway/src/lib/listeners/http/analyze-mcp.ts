import type { IncomingHttpHeaders } from 'node:http';
import { HttpProtocolError, mediaType, type HttpCommand } from '../../protocols/http/index.js';
import { McpErrorCode, McpParseError, jsonRpcError, jsonToolsFilter, parseJsonRpcBody, sseToolsFilter, type BodyTransform, type JsonRpcId, type McpMessage } from '../../protocols/mcp/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import { unionRules } from '../../masking/index.js';
import type { Analysis, McpHooks, RequestInfo } from './analysis.js';
import type { Refusal } from './refuse.js';

// MCP over Streamable HTTP (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports):
// every JSON-RPC message of a POST is a command decided on its own; a batch goes upstream only
// when every message in it is allowed, else the gateway answers each request itself.

/** Largest POST body the gateway reads to decide (a JSON-RPC message or batch). */
export const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;

type Decided = PolicyDecision & { commandId: number };

/** The command one JSON-RPC message becomes (Command event + `command.mcp` in the policy input). */
export function mcpCommand(m: McpMessage, server: string, headers: IncomingHttpHeaders): HttpCommand {
  const action = m.kind === 'response' ? 'response' : m.method;
  const sessionId = header(headers, 'mcp-session-id');
  const text = [action, m.tool ?? '', m.argsSha256 ? `sha256:${m.argsSha256}` : ''].filter((s) => s !== '').join(' ');
  return {
    protocol: 'mcp',
    action,
    targets: m.method === 'tools/call' && m.tool ? [m.tool] : [],
    text,
    details: {
      server,
      method: action,
      id: m.id ?? null,
      tool: m.tool ?? null,
      ...(m.arguments !== undefined ? { arguments: m.arguments } : {}),
      argsSha256: m.argsSha256 ?? null,
      mcpSessionId: sessionId,
      protocolVersion: header(headers, 'mcp-protocol-version'),
    },
  };
}

/** `command.mcp` in the policy input. */
export function mcpPolicyInput(details: Record<string, unknown>): Record<string, unknown> {
  return { server: details.server, method: details.method, id: details.id, tool: details.tool, arguments: details.arguments ?? null, argsSha256: details.argsSha256, sessionId: details.mcpSessionId };
}

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/** The answer when the gateway, not the server, answers a POST: JSON-RPC errors for its requests. */
function jsonRpcAnswer(errors: Record<string, unknown>[], batch: boolean): Refusal {
  // A batch of notifications only has no response body (202 Accepted).
  if (errors.length === 0) return { status: 202, headers: [], body: Buffer.alloc(0) };
  const body = Buffer.from(JSON.stringify(batch ? errors : errors[0]));
  return { status: 200, headers: [['Content-Type', 'application/json']], body };
}

/** A gateway error (malformed body, no route, upstream down) as a JSON-RPC error with id null. */
export function mcpRefusal(status: number, text: string): Refusal {
  const code = status === 400 ? (/not JSON/.test(text) ? McpErrorCode.ParseError : McpErrorCode.InvalidRequest) : McpErrorCode.Refused;
  return { status, headers: [['Content-Type', 'application/json']], body: Buffer.from(JSON.stringify(jsonRpcError(null, code, text))) };
}

/** POSTs of JSON-RPC; GET (the server's SSE stream) and DELETE (end of session) get the REST view. */
export function mcpAnalysis(info: RequestInfo, rest: () => Analysis): Analysis {
  if (info.method !== 'POST') return rest();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let parsed: { batch: boolean; messages: McpMessage[] } | undefined;
  let decided: Decided[] = [];
  let hooks: McpHooks | undefined;
  const read = (ended: boolean): { batch: boolean; messages: McpMessage[] } => {
    if (parsed) return parsed;
    if (!ended || bytes > MAX_MCP_BODY_BYTES) throw new HttpProtocolError('BODY_TOO_LARGE', `a JSON-RPC body larger than ${MAX_MCP_BODY_BYTES} bytes`);
    if (!mediaType(info.headers['content-type']).includes('json')) throw new HttpProtocolError('BAD_BODY', 'MCP messages are POSTed as application/json');
    try {
      return (parsed = parseJsonRpcBody(Buffer.concat(chunks)));
    } catch (err) {
      if (err instanceof McpParseError) throw new HttpProtocolError('BAD_BODY', err.message);
      throw err;
    }
  };
  return {
    bodyBytes: MAX_MCP_BODY_BYTES,
    scope: {},
    consume(c) {
      bytes += c.length;
      if (bytes <= MAX_MCP_BODY_BYTES) chunks.push(c);
      return bytes > MAX_MCP_BODY_BYTES;
    },
    command(ended): HttpCommand {
      const { messages } = read(ended);
      const actions = [...new Set(messages.map((m) => (m.kind === 'response' ? 'response' : m.method)))];
      return { protocol: 'mcp', action: actions.join(','), targets: [], text: `POST ${info.target.path}`, details: {} };
    },
    decideEach(h) {
      hooks = h;
      const { messages } = read(true);
      decided = messages.map((m) => h.decide(mcpCommand(m, h.server, info.headers)));
      return combine(decided);
    },
    refusal() {
      const { batch, messages } = read(true);
      const errors: Record<string, unknown>[] = [];
      messages.forEach((m, i) => {
        if (m.kind !== 'request') return;
        const d = decided[i];
        const why = d?.reasons.join('; ') || 'not allowed';
        const message = d && d.result !== 'allow' ? `chaperone: denied by policy: ${why}` : 'chaperone: not forwarded: another request in the same batch was denied';
        errors.push(jsonRpcError(m.id ?? null, McpErrorCode.Refused, message, { decision: d?.result ?? 'deny', reasons: d?.reasons ?? [] }));
      });
      return jsonRpcAnswer(errors, batch);
    },
    responseTransform(headers) {
      const ids = new Set<JsonRpcId>((parsed?.messages ?? []).filter((m) => m.kind === 'request' && m.method === 'tools/list').map((m) => m.id ?? null));
      if (ids.size === 0 || !hooks) return undefined;
      return toolsFilter(mediaType(headers['content-type']), ids, hooks, info.headers);
    },
  };
}

/** tools/list answers keep the tools a tools/call of which (without arguments) the policy allows. */
function toolsFilter(type: string, ids: Set<JsonRpcId>, h: McpHooks, headers: IncomingHttpHeaders): BodyTransform | undefined {
  const mayCall = (tool: string): boolean => h.evaluate(mcpCommand({ kind: 'request', id: null, method: 'tools/call', tool }, h.server, headers)).result === 'allow';
  const onHidden = (hidden: string[]): void => h.hidden(hidden);
  if (type === 'text/event-stream') return sseToolsFilter(ids, mayCall, onHidden);
  if (type.includes('json')) return jsonToolsFilter(ids, mayCall, onHidden);
  return undefined;
}

/**
 * One decision for the request: the first that is not `allow` (an MCP `approval` is refused
 * for now: holding a tool call is a later slice), else an allow that masks what any of them masks.
 */
function combine(ds: Decided[]): Decided {
  const refused = ds.find((d) => d.result !== 'allow');
  if (refused) return refused.result === 'approval' ? { ...refused, result: 'deny', reasons: [...refused.reasons, 'approvals for MCP tool calls are not available yet (policy: mcp-approval)'] } : refused;
  const first = ds[0]!;
  let mask = first.mask;
  for (const d of ds.slice(1)) if (d.mask) mask = mask ? unionRules(mask, d.mask) : d.mask;
  return { ...first, mask };
}
