import { McpErrorCode, jsonRpcError, type JsonRpcId } from './jsonrpc.js';

// Rewrites the server's answers to tools/list so the agent sees only the tools it may call.
// The answer arrives as one JSON body (here) or in an SSE stream (stream.ts).

/** A body rewrite applied before masking, recording and forwarding. */
export interface BodyTransform {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
  /** Set when the body cannot be read on: what push returned last ends the answer (stream.ts). */
  readonly failure?: Error | undefined;
  /** Every push returns whole messages (SSE events): the masker flushes after each, nothing waits for the next. */
  readonly messageAligned?: boolean;
  /**
   * How the output of the last push or end divides into messages and the command each one
   * belongs to (events v3), in order; empty when it is not divided. A message-aligned transform
   * gives each message's length; the others (a JSON-RPC batch answer) divide by array element.
   */
  takeParts?(): BodyPart[];
}

/** One message of a transform's output: its length in bytes (before masking) and its command (0: none). */
export interface BodyPart {
  bytes: number;
  commandId: number;
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
