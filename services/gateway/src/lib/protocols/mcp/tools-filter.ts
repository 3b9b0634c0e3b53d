import { StringDecoder } from 'node:string_decoder';
import { McpErrorCode, jsonRpcError, type JsonRpcId } from './jsonrpc.js';

// Rewrites the server's answers to tools/list so the agent sees only the tools it may call.
// The answer arrives as one JSON body or as an SSE stream (text/event-stream, WHATWG HTML
// §9.2 "Server-sent events"); each SSE event is rewritten once it is complete.

/** A body rewrite applied before masking, recording and forwarding. */
export interface BodyTransform {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/** Largest JSON answer held for filtering; a larger one is replaced by an error (fail closed). */
export const MAX_FILTERED_BYTES = 8 * 1024 * 1024;

/** The tools hidden from one answer, for the record. */
export type HiddenTools = (hidden: string[]) => void;

/** Whether the agent may see a listed tool: its name and the whole entry (description, schema, annotations). */
export type MayCall = (tool: string, entry: Record<string, unknown>) => boolean;

/** Filters `result.tools` of a response to one of `ids`; returns the message unchanged otherwise. */
export function filterToolsMessage(msg: unknown, ids: ReadonlySet<JsonRpcId>, mayCall: MayCall, onHidden: HiddenTools): unknown {
  if (Array.isArray(msg)) return msg.map((m) => filterToolsMessage(m, ids, mayCall, onHidden));
  if (msg === null || typeof msg !== 'object') return msg;
  const o = msg as { id?: JsonRpcId; result?: { tools?: unknown } };
  if (o.id === undefined || !ids.has(o.id) || !o.result || !Array.isArray(o.result.tools)) return msg;
  const hidden: string[] = [];
  const tools = o.result.tools.filter((t: { name?: unknown }) => {
    const ok = typeof t?.name === 'string' && mayCall(t.name, t);
    if (!ok) hidden.push(typeof t?.name === 'string' ? t.name : '(unnamed)');
    return ok;
  });
  if (hidden.length > 0) onHidden(hidden);
  return { ...o, result: { ...o.result, tools } };
}

function rewriteJson(text: string, f: (m: unknown) => unknown): string | undefined {
  try {
    return JSON.stringify(f(JSON.parse(text)));
  } catch {
    return undefined;
  }
}

/** A whole JSON body, held until it ends (at most MAX_FILTERED_BYTES). */
export function jsonToolsFilter(ids: ReadonlySet<JsonRpcId>, mayCall: MayCall, onHidden: HiddenTools): BodyTransform {
  const chunks: Buffer[] = [];
  let bytes = 0;
  return {
    push(c) {
      bytes += c.length;
      if (bytes <= MAX_FILTERED_BYTES) chunks.push(c);
      return Buffer.alloc(0);
    },
    end() {
      if (bytes > MAX_FILTERED_BYTES) {
        const errors = [...ids].map((id) => jsonRpcError(id, McpErrorCode.Refused, `chaperone: the tools/list answer is larger than ${MAX_FILTERED_BYTES} bytes and cannot be filtered`));
        return Buffer.from(JSON.stringify(errors.length === 1 ? errors[0] : errors));
      }
      const body = Buffer.concat(chunks);
      const out = rewriteJson(body.toString('utf8'), (m) => filterToolsMessage(m, ids, mayCall, onHidden));
      return out === undefined ? body : Buffer.from(out);
    },
  };
}

const EVENT_END = /\r\n\r\n|\n\n|\r\r/;

/** One SSE event: its `data:` lines joined are a JSON-RPC message; other fields pass unchanged. */
function rewriteEvent(event: string, f: (m: unknown) => unknown): string {
  const lines = event.split(/\r\n|\n|\r/);
  const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
  if (data.length === 0) return event;
  const out = rewriteJson(data.join('\n'), f);
  if (out === undefined) return event;
  const others = lines.filter((l) => !l.startsWith('data:'));
  return [...others, `data: ${out}`].join('\n');
}

/** An SSE stream: complete events are rewritten and passed on at once; a partial one waits. */
export function sseToolsFilter(ids: ReadonlySet<JsonRpcId>, mayCall: MayCall, onHidden: HiddenTools): BodyTransform {
  let pending = '';
  // A chunk may end inside a UTF-8 sequence; the decoder holds those bytes for the next one.
  const utf8 = new StringDecoder('utf8');
  const f = (m: unknown): unknown => filterToolsMessage(m, ids, mayCall, onHidden);
  return {
    push(c) {
      pending += utf8.write(c);
      let out = '';
      for (let m = EVENT_END.exec(pending); m; m = EVENT_END.exec(pending)) {
        out += `${rewriteEvent(pending.slice(0, m.index), f)}\n\n`;
        pending = pending.slice(m.index + m[0].length);
      }
      return Buffer.from(out);
    },
    end() {
      const rest = pending + utf8.end();
      pending = '';
      return Buffer.from(rest === '' ? '' : rewriteEvent(rest, f));
    },
  };
}
