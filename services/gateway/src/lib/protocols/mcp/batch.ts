import type { JsonRpcId } from './jsonrpc.js';
import { MAX_FILTERED_BYTES, type BodyPart, type BodyTransform } from './tools-filter.js';

// Where the messages of a JSON-RPC batch (a JSON array, https://www.jsonrpc.org/specification#batch)
// begin and end in its bytes, so that the recording can say which command each one belongs to.

// Structural bytes (numbers: compared with the body's bytes, which an enum type would not allow).
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const COMMA = 0x2c; // ,
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Cuts a JSON body into one contiguous piece per top-level array element: the end offset of each
 * piece (the first starts at 0, each one after the comma that ends the one before, the last ends
 * at the body's end), so the pieces together are the whole body. A body that is not an array
 * (one JSON-RPC message) is one piece. Only strings and nesting are tracked: the body was parsed
 * as JSON already. Multi-byte UTF-8 sequences never contain these ASCII bytes.
 */
export function jsonBatchCuts(body: Uint8Array): number[] {
  const n = body.length;
  let i = 0;
  while (i < n && isSpace(body[i])) i++;
  if (body[i] !== OPEN_ARRAY) return [n];
  const cuts: number[] = [];
  let depth = 0;
  let inString = false;
  for (; i < n; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (--depth === 0) break;
    } else if (c === COMMA && depth === 1) cuts.push(i + 1);
  }
  cuts.push(n);
  return cuts;
}

/** The JSON-RPC id of the element in one piece of jsonBatchCuts (undefined when it has none or is not JSON). */
export function pieceId(piece: Buffer): string | number | null | undefined {
  const text = piece.toString('utf8').trim().replace(/^\[/, '').replace(/,$/, '').replace(/\]\s*$/, '');
  try {
    const v = JSON.parse(text) as { id?: unknown };
    const id = v?.id;
    return typeof id === 'string' || typeof id === 'number' || id === null ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The answer to a POSTed batch as one JSON array (after `inner`, e.g. the tools/list filter):
 * held until it ends, then given whole with one part per element, each part the command of the
 * request it answers (`commandOf` its id; responses come in any order, JSON-RPC 2.0 §6). An
 * answer larger than MAX_FILTERED_BYTES is passed on as it comes, undivided.
 */
export function jsonBatchParts(commandOf: (id: JsonRpcId | undefined) => number, inner?: BodyTransform): BodyTransform {
  const held: Buffer[] = [];
  let bytes = 0;
  let passing = false;
  let parts: BodyPart[] = [];
  return {
    push(c) {
      const out = inner ? inner.push(c) : c;
      if (passing) return out;
      held.push(out);
      bytes += out.length;
      if (bytes <= MAX_FILTERED_BYTES) return Buffer.alloc(0);
      passing = true;
      return Buffer.concat(held.splice(0));
    },
    end() {
      const tail = inner ? inner.end() : Buffer.alloc(0);
      if (passing) return tail;
      const body = Buffer.concat([...held, tail]);
      let at = 0;
      parts = jsonBatchCuts(body).map((end) => {
        const part = { bytes: end - at, commandId: commandOf(pieceId(body.subarray(at, end))) };
        at = end;
        return part;
      });
      return body;
    },
    takeParts() {
      const p = parts;
      parts = [];
      return p;
    },
  };
}
