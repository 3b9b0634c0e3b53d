import { NoteSink, type Masker } from './masker.js';
import { JsonPathStream } from './json-stream.js';
import { StreamMasker, type StreamMaskerOptions } from './stream.js';
import type { MaskNote } from './types.js';

/**
 * Masks one streamed HTTP body: for a JSON body the rules' JSON paths first (JsonPathStream),
 * then the detectors over the result (StreamMasker). Memory is bounded by the detectors' hold
 * window, the JSON nesting depth and one chunk, whatever the body's size. Notes name the JSON
 * path of each replaced value and the byte range (in the masked output) of each detector match.
 * The detectors hold back up to their window, so a JSON path note waits for the next output to
 * travel with: it is recorded with the bytes that hold its marker, or the frame just before them.
 */
export class BodyMasker {
  private readonly paths: JsonPathStream | undefined;
  private readonly detectors: StreamMasker;
  private pending: MaskNote[] = [];

  constructor(masker: Masker, opts: { json: boolean } & StreamMaskerOptions) {
    this.paths = opts.json && masker.jsonPaths.length > 0 ? new JsonPathStream(masker.jsonPaths) : undefined;
    this.detectors = new StreamMasker(masker, opts);
  }

  /** Why the JSON path rules stopped applying (the body is not JSON, or too deep); detectors still ran. */
  get jsonError(): string | undefined {
    return this.paths?.error;
  }

  /** Values replaced by JSON path rules so far. */
  get jsonMasked(): number {
    return this.paths?.masked ?? 0;
  }

  /** Whether JSON path rules apply to this body at all. */
  get appliesJsonPaths(): boolean {
    return this.paths !== undefined;
  }

  push(chunk: Buffer): { out: Buffer; notes: MaskNote[] } {
    if (!this.paths) return this.detectors.push(chunk);
    const p = this.paths.push(chunk);
    if (p.notes.length > 0) this.pending.push(...p.notes);
    return this.withPending(this.detectors.push(p.out));
  }

  /**
   * Emits what the detectors hold back and goes on: for a stream of whole messages (MCP
   * server events) flushed after each, so none waits for the next; a match is never split.
   */
  flush(): { out: Buffer; notes: MaskNote[] } {
    return this.withPending(this.detectors.flush());
  }

  end(): { out: Buffer; notes: MaskNote[] } {
    const d = this.detectors.end();
    return this.paths ? this.withPending(d, true) : d;
  }

  private withPending(d: { out: Buffer; notes: MaskNote[] }, last = false): { out: Buffer; notes: MaskNote[] } {
    if (this.pending.length === 0 || (d.out.length === 0 && !last)) return d;
    // Bounded like any frame's notes: beyond 64 places they fold into one per detector.
    const sink = new NoteSink();
    for (const n of this.pending) sink.addAt(n.detector, n.location, n.count);
    this.pending = [];
    return { out: d.out, notes: [...sink.notes(), ...d.notes] };
  }
}
