import { sha256Hex } from '../../hash.js';
import { errorMessage } from '@chaperone/observability';

// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) as MCP uses it over Streamable HTTP
// (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#streamable-http):
// a POST body is one message or (protocol 2025-03-26) a batch of them.

/** JSON-RPC error codes the gateway answers with. */
export const enum McpErrorCode {
  /** -32700: the body is not JSON. */
  ParseError = -32700,
  /** -32600: JSON, but not a JSON-RPC message. */
  InvalidRequest = -32600,
  /** Server-defined range (-32000..-32099): the gateway's policy refused the request. */
  Refused = -32001,
}

export type JsonRpcId = string | number | null;

/** One client-to-server message as the policy and the record see it. */
export interface McpMessage {
  kind: 'request' | 'notification' | 'response';
  /** Requests and responses only. */
  id?: JsonRpcId;
  method: string;
  /** tools/call: the tool's name; resources/read: the URI; prompts/get: the prompt's name. */
  tool?: string;
  /** tools/call (and prompts/get): the arguments as sent. */
  arguments?: unknown;
  /** SHA-256 of the canonical JSON (sorted keys, no spaces) of `arguments`. */
  argsSha256?: string;
}

/** A POST body the gateway cannot read as JSON-RPC. */
export class McpParseError extends Error {
  override name = 'McpParseError';
  constructor(
    readonly code: McpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Arguments nested deeper than this are refused (the canonical form is built recursively). */
export const MAX_ARGS_DEPTH = 100;

/** The canonical JSON of a value: object keys sorted at every level, no insignificant space. */
export function canonicalJson(v: unknown, depth = 0): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (depth >= MAX_ARGS_DEPTH) throw new McpParseError(McpErrorCode.InvalidRequest, `arguments nested deeper than ${MAX_ARGS_DEPTH} levels`);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], depth + 1)}`).join(',')}}`;
}

export function argsSha256(args: unknown): string {
  return sha256Hex(canonicalJson(args ?? {}));
}

function isId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || typeof v === 'number' || v === null;
}

function parseOne(m: unknown): McpMessage {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new McpParseError(McpErrorCode.InvalidRequest, 'a JSON-RPC message must be an object');
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') throw new McpParseError(McpErrorCode.InvalidRequest, 'jsonrpc must be "2.0"');
  if (typeof o.method !== 'string') {
    // A client's answer to a server request (sampling, elicitation, roots).
    if (('result' in o || 'error' in o) && isId(o.id)) return { kind: 'response', id: o.id, method: '' };
    throw new McpParseError(McpErrorCode.InvalidRequest, 'a JSON-RPC request needs a string method');
  }
  if ('id' in o && !isId(o.id)) throw new McpParseError(McpErrorCode.InvalidRequest, 'a JSON-RPC id is a string, a number or null');
  const msg: McpMessage = 'id' in o ? { kind: 'request', id: o.id as JsonRpcId, method: o.method } : { kind: 'notification', method: o.method };
  const params = o.params !== null && typeof o.params === 'object' && !Array.isArray(o.params) ? (o.params as Record<string, unknown>) : {};
  return { ...msg, ...paramsView(o.method, params) };
}

/** What the policy needs from the params of the methods it decides on. */
function paramsView(method: string, p: Record<string, unknown>): Pick<McpMessage, 'tool' | 'arguments' | 'argsSha256'> {
  switch (method) {
    case 'tools/call':
    case 'prompts/get': {
      const args = p.arguments ?? {};
      return { tool: typeof p.name === 'string' ? p.name : '', arguments: args, argsSha256: argsSha256(args) };
    }
    case 'resources/read':
      return { tool: typeof p.uri === 'string' ? p.uri : '' };
    default:
      return {};
  }
}

// JSON exchanged between systems is UTF-8 (RFC 8259 §8.1): a body that is not is refused, not
// read with U+FFFD in place of its bad bytes (the policy would decide on other text than the server reads).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a POST body: one message or a non-empty batch. Throws McpParseError. */
export function parseJsonRpcBody(body: Buffer): { batch: boolean; messages: McpMessage[] } {
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(body));
  } catch (err) {
    if (err instanceof TypeError) throw new McpParseError(McpErrorCode.ParseError, 'the request body is not JSON: it is not valid UTF-8 (RFC 8259 §8.1)');
    throw new McpParseError(McpErrorCode.ParseError, `the request body is not JSON: ${errorMessage(err)}`);
  }
  if (!Array.isArray(v)) return { batch: false, messages: [parseOne(v)] };
  if (v.length === 0) throw new McpParseError(McpErrorCode.InvalidRequest, 'an empty JSON-RPC batch');
  return { batch: true, messages: v.map(parseOne) };
}

/** A JSON-RPC error response. */
export function jsonRpcError(id: JsonRpcId, code: number, message: string, data?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/** One message the server sent the agent (in an SSE event): a request of its own, a notification, or an answer. */
export interface ServerMessage {
  kind: 'request' | 'notification' | 'response';
  id: JsonRpcId;
  /** Requests and notifications: e.g. sampling/createMessage, elicitation/create, notifications/progress. */
  method: string;
  /** The message as parsed (for the tools/list filter and the policy's view of params). */
  value: Record<string, unknown>;
}

/** Reads one server message (the data of an SSE event); a batch is not sent by servers. Throws McpParseError. */
export function parseServerMessage(text: string): ServerMessage {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new McpParseError(McpErrorCode.ParseError, `a message of the server is not JSON: ${errorMessage(err)}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new McpParseError(McpErrorCode.InvalidRequest, 'a message of the server is not a JSON-RPC object');
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') throw new McpParseError(McpErrorCode.InvalidRequest, 'a message of the server is not JSON-RPC 2.0');
  const id = isId(o.id) ? o.id : null;
  if (typeof o.method === 'string') return { kind: 'id' in o ? 'request' : 'notification', id, method: o.method, value: o };
  if ('result' in o || 'error' in o) return { kind: 'response', id, method: '', value: o };
  throw new McpParseError(McpErrorCode.InvalidRequest, 'a message of the server is neither a request, a notification nor an answer');
}
