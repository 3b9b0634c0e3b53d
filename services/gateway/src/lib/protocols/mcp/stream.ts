import { McpErrorCode, McpParseError, jsonRpcError, parseServerMessage, type JsonRpcId, type ServerMessage } from './jsonrpc.js';
import { McpStreamError, SseParser, eventData, eventField, formatEvent, type SseEvent } from './sse.js';
import { filterToolsMessage, type BodyPart, type BodyTransform, type HiddenTools, type MayCall } from './tools-filter.js';

// The server's event streams, read one event at a time (an answer to a POST, the GET stream of
// Streamable HTTP, the stream of the HTTP+SSE transport): each JSON-RPC message is classified;
// the server's own requests and notifications (sampling, elicitation, roots, progress, …) are
// recorded and decided before they reach the agent; tools/list answers are filtered; the
// HTTP+SSE `endpoint` event is rewritten to the gateway's address. A stream the gateway cannot
// read (broken framing, invalid UTF-8, a message that is not JSON-RPC) ends with a JSON-RPC
// error for the requests still waiting on it: what it forwarded up to then was complete events.

/** JSON-RPC error code of a stream the gateway ended (server-defined range, beside Refused). */
export const STREAM_BROKEN = -32002;

export interface McpStreamHooks {
  /** The tools/list requests this stream answers; 'any' where the request came on another exchange (GET stream, HTTP+SSE). */
  toolsIds: ReadonlySet<JsonRpcId> | 'any';
  mayCall: MayCall;
  onHidden: HiddenTools;
  /** A request or notification of the server: recorded and decided; false when it must not reach the agent. */
  serverMessage(m: ServerMessage): boolean;
  /** HTTP+SSE: the URL of the `endpoint` event as the agent must use it (through the gateway). */
  rewriteEndpoint?(url: string): string;
  /** The POST's requests still waiting on this stream: answered with an error if the stream breaks. */
  pending?: Iterable<JsonRpcId>;
  /**
   * The command an event belongs to (events v3): an answer's is its request's (by id), a server
   * message's the one `serverMessage` just recorded. Without it the output is not divided.
   */
  commandOf?(kind: ServerMessage['kind'], id: JsonRpcId): number;
}

/** A BodyTransform that can end the stream: `failure` says why it did, once it has. */
export interface McpStreamTransform extends BodyTransform {
  readonly failure: McpStreamError | undefined;
}

export function mcpStreamTransform(h: McpStreamHooks, maxEventBytes?: number): McpStreamTransform {
  const parser = new SseParser(maxEventBytes);
  const waiting = new Set<JsonRpcId>(h.pending ?? []);
  let failure: McpStreamError | undefined;
  // Each event's length and command, when the caller divides the output (h.commandOf).
  let parts: BodyPart[] = [];
  const owner = { commandId: 0 };
  const add = (out: string, event: string): string => {
    if (h.commandOf && event !== '') parts.push({ bytes: Buffer.byteLength(event), commandId: owner.commandId });
    return out + event;
  };
  const fail = (err: unknown, out: string): Buffer => {
    if (!(err instanceof McpStreamError)) throw err;
    failure = err;
    const ids = waiting.size > 0 ? [...waiting] : [null];
    const message = `chaperone: the server's event stream was ended by the gateway: ${err.message}`;
    for (const id of ids) {
      owner.commandId = id === null ? 0 : (h.commandOf?.('response', id) ?? 0);
      out = add(out, formatEvent({ fields: [['event', 'message'], ['data', JSON.stringify(jsonRpcError(id, STREAM_BROKEN, message, { code: err.code }))]] }));
    }
    return Buffer.from(out);
  };
  // The complete events before a failure are forwarded; then the error ends the stream.
  const relayAll = (events: SseEvent[]): Buffer => {
    let out = '';
    try {
      for (const e of events) {
        owner.commandId = 0;
        out = add(out, relayEvent(e, h, waiting, owner));
      }
    } catch (err) {
      return fail(err, out);
    }
    return parser.failure ? fail(parser.failure, out) : Buffer.from(out);
  };
  return {
    messageAligned: true,
    get failure() {
      return failure;
    },
    push(chunk) {
      return failure ? Buffer.alloc(0) : relayAll(parser.push(chunk));
    },
    end() {
      return failure ? Buffer.alloc(0) : relayAll(parser.end().events);
    },
    takeParts() {
      const p = parts;
      parts = [];
      return p;
    },
  };
}

/** One event as forwarded: rewritten, unchanged, or (a refused server message) only its id; `owner` gets its command. */
function relayEvent(e: SseEvent, h: McpStreamHooks, waiting: Set<JsonRpcId>, owner: { commandId: number }): string {
  const type = eventField(e, 'event') ?? 'message';
  const data = eventData(e);
  if (type === 'endpoint' && data !== undefined && h.rewriteEndpoint) return formatEvent(withData(e, h.rewriteEndpoint(data)));
  // Clients act only on `message` events with data (and the endpoint); others pass, recorded as
  // forwarded: e.g. the event with an id and empty data a server sends first so that the client
  // can resume the stream (Streamable HTTP, 2025-11-25), comments, keep-alives.
  if (type !== 'message' || data === undefined || data === '') return formatEvent(e);
  let m: ServerMessage;
  try {
    m = parseServerMessage(data);
  } catch (err) {
    if (err instanceof McpParseError) throw new McpStreamError('SSE_BAD_MESSAGE', err.message);
    throw err;
  }
  if (m.kind === 'response') {
    waiting.delete(m.id);
    owner.commandId = h.commandOf?.('response', m.id) ?? 0;
    const asked = h.toolsIds === 'any' ? Array.isArray((m.value.result as { tools?: unknown } | undefined)?.tools) : h.toolsIds.has(m.id);
    if (!asked) return formatEvent(e);
    const filtered = filterToolsMessage(m.value, new Set([m.id]), h.mayCall, h.onHidden);
    return formatEvent(withData(e, JSON.stringify(filtered)));
  }
  const forward = h.serverMessage(m);
  owner.commandId = h.commandOf?.(m.kind, m.id) ?? 0;
  if (forward) return formatEvent(e);
  // Refused: the agent never sees it; the event id still goes on, so a resuming client's
  // Last-Event-ID is the server's latest (Streamable HTTP resumability).
  const id = eventField(e, 'id');
  return id === undefined ? '' : formatEvent({ fields: [['id', id]] });
}

function withData(e: SseEvent, data: string): SseEvent {
  const fields = e.fields.filter(([n]) => n !== 'data');
  // JSON.stringify output has no line breaks; an endpoint URL has none either.
  return { fields: [...fields, ['data', data]] };
}

/** The answer the gateway sends the server in the agent's place when it refuses a server request. */
export function refusedServerRequest(id: JsonRpcId, reasons: string[]): Record<string, unknown> {
  return jsonRpcError(id, McpErrorCode.Refused, `chaperone: denied by policy: ${reasons.join('; ') || 'not allowed'}`, { decision: 'deny', reasons });
}
