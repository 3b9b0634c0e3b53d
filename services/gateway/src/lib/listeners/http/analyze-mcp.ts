import type { IncomingHttpHeaders } from 'node:http';
import { HttpProtocolError, mediaType, type HttpCommand } from '../../protocols/http/index.js';
import { McpErrorCode, McpParseError, jsonBatchParts, jsonRpcError, jsonToolsFilter, parseJsonRpcBody, type JsonRpcId, type McpMessage } from '../../protocols/mcp/index.js';
import { serverStream } from './analyze-mcp-stream.js';
import type { PolicyDecision } from '../../policy/index.js';
import { unionRules } from '../../masking/index.js';
import { mergeRequirements } from '../../approvals/index.js';
import { toolDefinition, type ToolRecord, type ToolRegistry, type ToolView } from '@chaperone/mcp-tools';
import type { Logger } from '@chaperone/observability';
import type { Analysis, McpHooks, RequestInfo } from './analysis.js';
import type { Refusal } from './types.js';

// MCP over Streamable HTTP (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports)
// and over HTTP+SSE (2024-11-05: GET /sse, then POSTs to the endpoint it names): every JSON-RPC
// message of a POST is a command decided on its own; a batch goes upstream only when every
// message in it is allowed, else the gateway answers each request itself. The server's event
// streams are read event by event (analyze-mcp-stream.ts); a DELETE ends the MCP session.

/** Largest POST body the gateway reads to decide (a JSON-RPC message or batch). */
export const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;

type Decided = PolicyDecision & { commandId: number };

/** The command one JSON-RPC message becomes (Command event + `command.mcp` in the policy input). */
export function mcpCommand(m: McpMessage, server: string, headers: IncomingHttpHeaders, tool?: ToolView): HttpCommand {
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
      ...(m.method === 'tools/call' ? { toolInfo: toolInfo(tool) } : {}),
    },
  };
}

/**
 * `command.mcp.toolInfo`: where the called tool stands in the tool registry (null when no
 * tools/list answer ever showed it): pinned or changed since, which fields changed, its current
 * annotations and the injection scan of its current description.
 */
export function toolInfo(v: ToolView | undefined): Record<string, unknown> | null {
  if (!v) return null;
  const s = v.scan;
  return {
    status: v.status,
    pinnedSha256: v.pinned.sha256,
    currentSha256: v.current.sha256,
    changedFields: v.changes.map((c) => c.field),
    acceptedBy: v.pinned.acceptedBy,
    annotations: v.current.definition.annotations ?? {},
    scan: { suspicious: s.suspicious, score: s.score, rules: [...new Set(s.findings.map((f) => f.rule))] },
  };
}

/** The tool registry as a node uses it (KafkaToolStore). */
export interface McpToolPins {
  registry: ToolRegistry;
  publish(r: ToolRecord): Promise<void>;
}

/** The per-exchange view of the registry an analysis gets (McpHooks.tools). */
export function mcpToolHooks(pins: McpToolPins, server: string, ctx: { node: string; sessionId: string }, log: Logger): NonNullable<McpHooks['tools']> {
  return {
    view: (tool) => pins.registry.view(server, tool),
    observe: (entry) => {
      const def = toolDefinition(entry);
      if (!def) return undefined;
      const rec = pins.registry.observe(server, def, ctx);
      // Published in the background: the pin already holds on this node, the others learn it in a fetch.
      if (rec) pins.publish(rec).catch((err: unknown) => log.error({ err, server, tool: def.name }, 'mcp: could not publish a tool definition to the registry'));
      return pins.registry.view(server, def.name);
    },
  };
}

/** The command a changed tool in a tools/list answer becomes (recorded with the policy's decision on it). */
export function toolChangedCommand(v: ToolView, headers: IncomingHttpHeaders): HttpCommand {
  return {
    protocol: 'mcp',
    action: 'tools/changed',
    targets: [v.tool],
    text: `tools/changed ${v.tool} sha256:${v.pinned.sha256} -> sha256:${v.current.sha256}`,
    details: { server: v.server, method: 'tools/changed', id: null, tool: v.tool, argsSha256: null, mcpSessionId: header(headers, 'mcp-session-id'), toolInfo: toolInfo(v), changes: v.changes },
  };
}

/** `command.mcp` in the policy input; `direction` is "server" for the server's own requests and notifications. */
export function mcpPolicyInput(details: Record<string, unknown>): Record<string, unknown> {
  return { server: details.server, direction: details.direction ?? 'client', method: details.method, id: details.id, tool: details.tool, arguments: details.arguments ?? null, argsSha256: details.argsSha256, sessionId: details.mcpSessionId, toolInfo: details.toolInfo ?? null };
}

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/**
 * The answer when the gateway, not the server, answers a POST: JSON-RPC errors for its requests.
 * A Streamable HTTP client reads them from the POST's answer (200). An HTTP+SSE client (its POST
 * does not accept text/event-stream, which Streamable HTTP requires) reads answers only from its
 * stream, which may be open on another node: it gets 403 with the same body, which its SDK
 * turns into the failed call's error ("Error POSTing to endpoint (HTTP 403): …").
 */
function jsonRpcAnswer(errors: Record<string, unknown>[], batch: boolean, legacy: boolean): Refusal {
  // A batch of notifications only has no response body (202 Accepted).
  if (errors.length === 0) return { status: 202, headers: [], body: Buffer.alloc(0) };
  const body = Buffer.from(JSON.stringify(batch ? errors : errors[0]));
  return { status: legacy ? 403 : 200, headers: [['Content-Type', 'application/json']], body };
}

/** Whether the agent speaks HTTP+SSE (2024-11-05): its POSTs do not accept an event stream. */
function legacyTransport(headers: IncomingHttpHeaders): boolean {
  return !/text\/event-stream/i.test(header(headers, 'accept') ?? '');
}

/** The MCP session's end (DELETE with Mcp-Session-Id): a command of its own; a successful answer ends the recorded session. */
function deleteAnalysis(info: RequestInfo, rest: () => Analysis): Analysis {
  return {
    ...rest(),
    endsSession: true,
    command: (_ended, probe) => {
      const sessionId = header(info.headers, 'mcp-session-id');
      return { protocol: 'mcp', action: 'session/delete', targets: [], text: `session/delete ${sessionId ?? ''}`.trim(), details: { server: probe.conn.name, method: 'session/delete', id: null, tool: null, argsSha256: null, mcpSessionId: sessionId, protocolVersion: header(info.headers, 'mcp-protocol-version') } };
    },
  };
}

/** A GET: the server's stream (Streamable HTTP's GET stream, or the HTTP+SSE stream), read event by event. */
function streamAnalysis(rest: Analysis, info: RequestInfo): Analysis {
  return { ...rest, responseTransform: (headers, h) => (mediaType(headers['content-type']) === 'text/event-stream' ? serverStream(h, info.headers, headers, { toolsIds: 'any', pending: [], mayCall: toolGate(h, info.headers) }) : undefined) };
}

/** A gateway error (malformed body, no route, upstream down) as a JSON-RPC error with id null. */
export function mcpRefusal(status: number, text: string): Refusal {
  const code = status === 400 ? (/not JSON/.test(text) ? McpErrorCode.ParseError : McpErrorCode.InvalidRequest) : McpErrorCode.Refused;
  return { status, headers: [['Content-Type', 'application/json']], body: Buffer.from(JSON.stringify(jsonRpcError(null, code, text))) };
}

/** POSTs of JSON-RPC; GET (the server's SSE stream) and DELETE (end of session) get the REST view. */
export function mcpAnalysis(info: RequestInfo, rest: () => Analysis): Analysis {
  if (info.method === 'GET') return streamAnalysis(rest(), info);
  if (info.method === 'DELETE') return deleteAnalysis(info, rest);
  if (info.method !== 'POST') return rest();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let parsed: { batch: boolean; messages: McpMessage[] } | undefined;
  let decided: Decided[] = [];
  let whole: Decided | undefined;
  let hooks: McpHooks | undefined;
  // The Command of each request of the POST, by JSON-RPC id: its answer belongs to it (events v3).
  const calls = new Map<JsonRpcId, number>();
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
      const cmds = messages.map((m) => mcpCommand(m, h.server, info.headers, m.method === 'tools/call' && m.tool ? h.tools?.view(m.tool) : undefined));
      const own = cmds.map((c) => h.evaluate(c));
      const recorded = batchDecisions(own);
      decided = cmds.map((c, i) => h.decide(c, recorded[i]));
      messages.forEach((m, i) => m.kind === 'request' && calls.set(m.id ?? null, decided[i]!.commandId));
      whole = combine(decided);
      return whole;
    },
    refusal(_status, text, approval) {
      const { batch, messages } = read(true);
      const errors: Record<string, unknown>[] = [];
      messages.forEach((m, i) => {
        if (m.kind !== 'request') return;
        errors.push(refusedMessage(m.id ?? null, decided[i], whole?.result === 'deny', text, approval));
      });
      return jsonRpcAnswer(errors, batch, legacyTransport(info.headers));
    },
    refuseAll(_status, text) {
      const { batch, messages } = read(true);
      const errors = messages.filter((m) => m.kind === 'request').map((m) => jsonRpcError(m.id ?? null, McpErrorCode.Refused, text));
      return jsonRpcAnswer(errors, batch, legacyTransport(info.headers));
    },
    approvalText() {
      return approvalText(parsed?.messages ?? [], decided, info.headers);
    },
    responseTransform(headers, h) {
      const messages = parsed?.messages ?? [];
      const ids = new Set<JsonRpcId>(messages.filter((m) => m.kind === 'request' && m.method === 'tools/list').map((m) => m.id ?? null));
      const type = mediaType(headers['content-type']);
      if (type === 'text/event-stream') return serverStream(hooks ?? h, info.headers, headers, { toolsIds: ids, pending: messages.filter((m) => m.kind === 'request').map((m) => m.id ?? null), mayCall: toolGate(hooks ?? h, info.headers), calls });
      if (!hooks || !type.includes('json')) return undefined;
      const filter = ids.size === 0 ? undefined : jsonToolsFilter(ids, toolGate(hooks, info.headers), (hidden) => hooks!.hidden(hidden));
      // One message: the whole answer is its request's (the exchange's owner). A batch: each element its own.
      if (messages.length < 2) return filter;
      return jsonBatchParts((id) => (id === undefined ? 0 : (calls.get(id) ?? 0)), filter);
    },
  };
}

/**
 * tools/list answers keep the tools a tools/call of which (without arguments) the policy does not
 * deny. Each listed tool is first observed in the tool registry: pinned when new; when it differs
 * from its pin, the change is recorded (a `tools/changed` command and its decision) and the
 * policy sees it in `toolInfo`. A tool held for approval stays listed: the agent may call it, and
 * an approver decides.
 */
function toolGate(h: McpHooks, headers: IncomingHttpHeaders): (tool: string, entry: Record<string, unknown>) => boolean {
  return (tool, entry) => {
    const view = h.tools?.observe(entry);
    if (view?.status === 'changed') h.decide(toolChangedCommand(view, headers));
    return h.evaluate(mcpCommand({ kind: 'request', id: null, method: 'tools/call', tool }, h.server, headers, view)).result !== 'deny';
  };
}

/**
 * The JSON-RPC error for one request of a refused POST: a denied message gets its own reasons; a
 * held one the approval answer (`text`, with the approval id) and `data.approval`; the others of
 * a batch say why they were not forwarded.
 */
function refusedMessage(id: JsonRpcId, d: Decided | undefined, batchDenied: boolean, text: string, approval: Record<string, unknown> | undefined): Record<string, unknown> {
  if (d?.result === 'approval' && approval) return jsonRpcError(id, McpErrorCode.Refused, text, { decision: 'approval', reasons: d.reasons, approval });
  if (d?.result === 'deny' && d.reasons.length === 1 && d.reasons[0] === BATCH_DENIED) return jsonRpcError(id, McpErrorCode.Refused, `chaperone: ${BATCH_DENIED}`, { decision: 'deny', reasons: d.reasons });
  if (d?.result === 'deny') return jsonRpcError(id, McpErrorCode.Refused, `chaperone: denied by policy: ${d.reasons.join('; ') || 'not allowed'}`, { decision: 'deny', reasons: d.reasons });
  // Held without an approval gate: the listener's own text says so.
  if (d?.result === 'approval' && !batchDenied) return jsonRpcError(id, McpErrorCode.Refused, text, { decision: 'approval', reasons: d.reasons });
  const why = approval ? 'another request in the same batch is held for approval' : 'another request in the same batch was denied';
  return jsonRpcError(id, McpErrorCode.Refused, `chaperone: not forwarded: ${why}`, { decision: d?.result ?? 'deny', reasons: d?.reasons ?? [] });
}

/**
 * What a held POST's approval is bound to (with the identity and the connection, i.e. the MCP
 * server: approvalBinding in @chaperone/approvals-contract): one line per held message, `<method> <tool> sha256:<canonical
 * arguments>`. The JSON-RPC id is left out, so the agent's retry of the same call (a new id)
 * finds the approval, and any other tool or arguments asks again.
 */
export function approvalText(messages: McpMessage[], decided: Decided[], headers: IncomingHttpHeaders): string {
  return messages
    .filter((_m, i) => decided[i]?.result === 'approval')
    .map((m) => mcpCommand(m, '', headers).text)
    .join('\n');
}

/** Why an allowed message of a batch is not forwarded on its own (recorded as its decision's reason). */
const BATCH_DENIED = 'not forwarded: another request in the same batch was denied (policy: mcp-batch)';
const BATCH_HELD = 'held with the requests of its batch that need approval (policy: mcp-batch)';

/**
 * What each message of a POST is recorded as deciding. A batch goes upstream whole or not at
 * all, so an allowed message in a batch with a denied one is recorded as denied, and one in a
 * batch held for approval as held with it (bound into the same approval): no call is recorded
 * as allowed and then not forwarded.
 */
export function batchDecisions(own: PolicyDecision[]): PolicyDecision[] {
  const denied = own.some((d) => d.result === 'deny');
  const held = own.find((d) => d.result === 'approval');
  return own.map((d) => {
    if (d.result !== 'allow') return d;
    if (denied) return { ...d, result: 'deny', reasons: [BATCH_DENIED] };
    if (held) return { ...d, result: 'approval', reasons: [BATCH_HELD], ...(held.approval ? { approval: held.approval } : {}) };
    return d;
  });
}

/**
 * One decision for the request: a deny if any message is denied; else an approval (one
 * requirement that every held message's approvers meet: mergeRequirements) if any is held; else
 * an allow that masks what any of them masks.
 */
function combine(ds: Decided[]): Decided {
  const denied = ds.find((d) => d.result === 'deny');
  if (denied) return denied;
  const held = ds.filter((d) => d.result === 'approval');
  if (held.length > 0) {
    const approval = mergeRequirements(held);
    if (!approval) return { ...held[0]!, result: 'deny', reasons: [...held.flatMap((d) => d.reasons), 'no approver group may approve every held call of this batch; send them one at a time'] };
    return { ...held[0]!, reasons: [...new Set(held.flatMap((d) => d.reasons))], approval };
  }
  const first = ds[0]!;
  let mask = first.mask;
  for (const d of ds.slice(1)) if (d.mask) mask = mask ? unionRules(mask, d.mask) : d.mask;
  return { ...first, mask };
}
