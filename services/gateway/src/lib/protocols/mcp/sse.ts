// Server-sent events as MCP servers send them (answers to a POST, the GET stream, and the
// HTTP+SSE transport of 2024-11-05): WHATWG HTML §9.2.6 "Parsing an event stream". Lines end in
// CRLF, LF or CR; a blank line ends an event; `:` starts a comment; a field's value loses one
// leading space. The stream is UTF-8; unlike a browser (which substitutes U+FFFD) the gateway
// refuses invalid UTF-8, as a message it cannot read exactly is one it cannot decide on.

/** Why a server's event stream cannot be relayed. */
export class McpStreamError extends Error {
  override name = 'McpStreamError';
  constructor(
    readonly code: 'SSE_EVENT_TOO_LARGE' | 'SSE_INVALID_UTF8' | 'SSE_BAD_MESSAGE',
    message: string,
  ) {
    super(message);
  }
}

/** One complete event: its fields in order (comments kept, so they pass on unchanged). */
export interface SseEvent {
  fields: [name: string, value: string][];
}

const enum Byte {
  /** '\n' */
  LF = 0x0a,
  /** '\r' */
  CR = 0x0d,
}

/** The largest event the gateway holds to decide on (as MAX_MCP_BODY_BYTES for a POST). */
export const MAX_SSE_EVENT_BYTES = 4 * 1024 * 1024;

/** An event's `data` lines joined with LF (undefined when it has none). */
export function eventData(e: SseEvent): string | undefined {
  const data = e.fields.filter(([n]) => n === 'data').map(([, v]) => v);
  return data.length === 0 ? undefined : data.join('\n');
}

export function eventField(e: SseEvent, name: string): string | undefined {
  return e.fields.find(([n]) => n === name)?.[1];
}

/** The event as the gateway forwards it: LF line ends, `name: value` (comments `:value`), a blank line. */
export function formatEvent(e: SseEvent): string {
  return `${e.fields.map(([n, v]) => (n === '' ? `:${v}` : `${n}: ${v}`)).join('\n')}\n\n`;
}

/** An incremental parser: push bytes, get the events completed by them; the remainder waits. */
export class SseParser {
  private buf: Buffer = Buffer.alloc(0);
  private lines: [string, string][] = [];
  private eventBytes = 0;
  private first = true;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(private readonly maxEventBytes = MAX_SSE_EVENT_BYTES) {}

  /** Set once the stream cannot be read on (an oversize event, invalid UTF-8); push then reads nothing more. */
  failure: McpStreamError | undefined;

  /** The events these bytes complete; the events before a failure are returned, and `failure` set. */
  push(chunk: Buffer): SseEvent[] {
    if (this.failure) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const events: SseEvent[] = [];
    let start = 0;
    try {
      for (let end = lineEnd(this.buf, start); end; end = lineEnd(this.buf, start)) {
        const e = this.line(this.buf.subarray(start, end.at));
        if (e) events.push(e);
        start = end.next;
      }
      this.buf = this.buf.subarray(start);
      if (this.eventBytes + this.buf.length > this.maxEventBytes) throw new McpStreamError('SSE_EVENT_TOO_LARGE', `an event of the server's stream is larger than ${this.maxEventBytes} bytes`);
    } catch (err) {
      if (!(err instanceof McpStreamError)) throw err;
      this.failure = err;
      this.buf = Buffer.alloc(0);
    }
    return events;
  }

  /**
   * The stream ended: a last CR ends its line; returns the events that completes and whether
   * the stream stopped inside an event (which is dropped, WHATWG §9.2.6).
   */
  end(): { events: SseEvent[]; partial: boolean } {
    const events: SseEvent[] = [];
    let start = 0;
    try {
      for (let end = lineEnd(this.buf, start, true); end; end = lineEnd(this.buf, start, true)) {
        const e = this.line(this.buf.subarray(start, end.at));
        if (e) events.push(e);
        start = end.next;
      }
    } catch (err) {
      if (!(err instanceof McpStreamError)) throw err;
      this.failure = err;
    }
    const partial = start < this.buf.length || this.lines.length > 0;
    this.buf = Buffer.alloc(0);
    this.lines = [];
    return { events, partial };
  }

  private line(raw: Buffer): SseEvent | undefined {
    if (raw.length === 0) {
      const fields = this.lines;
      this.lines = [];
      this.eventBytes = 0;
      return fields.length > 0 ? { fields } : undefined;
    }
    this.eventBytes += raw.length + 1;
    let text: string;
    try {
      text = this.utf8.decode(raw);
    } catch {
      throw new McpStreamError('SSE_INVALID_UTF8', "the server's event stream is not valid UTF-8");
    }
    // A byte order mark may open the stream (and only there).
    if (this.first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.first = false;
    const colon = text.indexOf(':');
    if (colon === 0) this.lines.push(['', text.slice(1)]);
    else if (colon < 0) this.lines.push([text, '']);
    else this.lines.push([text.slice(0, colon), text.slice(colon + (text[colon + 1] === ' ' ? 2 : 1))]);
    return undefined;
  }
}

/** Where the line starting at `from` ends and the next begins; undefined when it has not ended yet. */
function lineEnd(b: Buffer, from: number, ended = false): { at: number; next: number } | undefined {
  const lf = b.indexOf(Byte.LF, from);
  const cr = b.indexOf(Byte.CR, from);
  if (cr < 0 || (lf >= 0 && lf < cr)) return lf < 0 ? undefined : { at: lf, next: lf + 1 };
  // A CR at the end of the bytes so far may be the first half of a CRLF: wait for more.
  if (cr + 1 === b.length) return ended ? { at: cr, next: cr + 1 } : undefined;
  return { at: cr, next: b[cr + 1] === Byte.LF ? cr + 2 : cr + 1 };
}
