import { MAX_LOOKBEHIND_BYTES, MAX_MATCH_BYTES } from './detectors.js';
import { NoteSink, type Masker } from './masker.js';
import type { MaskNote } from './types.js';

const EMPTY = Buffer.alloc(0);
/** Longer than every match but a private key block or a JWT. */
const MIN_HOLD = 256;

export interface StreamMaskerOptions {
  /**
   * Bytes held back at the end of each chunk so that a secret split across chunks is seen
   * whole: the longest match that must be found across a cut. The default covers every
   * detector (a private key block is the longest); values below 256 are raised to 256.
   * @default MAX_MATCH_BYTES (8.5 KiB)
   */
  maxTokenBytes?: number;
}

/**
 * Masks a byte stream (an HTTP response body) chunk by chunk with bounded memory. Each push
 * scans the held-back tail of the previous chunks plus the new chunk, emits everything up to
 * `hold` bytes before the end (or up to the start of a match that reaches into that tail) and
 * keeps the rest. A match starting before the emitted cut is no longer than the hold window,
 * so it lies completely inside the scanned bytes: the output does not depend on where the
 * chunks were cut. A few hundred bytes already emitted are kept (unmasked, never re-emitted)
 * as look-behind context. Memory stays below context + hold + one chunk. Notes give byte
 * ranges in the masked output stream.
 */
export class StreamMasker {
  private readonly hold: number;
  private context: Buffer = EMPTY;
  private carry: Buffer = EMPTY;
  private emitted = 0;
  private ended = false;

  constructor(
    private readonly masker: Masker,
    opts: StreamMaskerOptions = {},
  ) {
    this.hold = Math.max(opts.maxTokenBytes ?? MAX_MATCH_BYTES, MIN_HOLD);
  }

  /** Bytes currently held back (bounded by the hold window plus the last chunk). */
  get buffered(): number {
    return this.carry.length;
  }

  push(chunk: Buffer): { out: Buffer; notes: MaskNote[] } {
    if (this.ended) throw new Error('StreamMasker.push after end()');
    if (this.carry.length + chunk.length <= this.hold) {
      this.carry = this.carry.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.carry, chunk]);
      return { out: EMPTY, notes: [] };
    }
    return this.process(chunk, false);
  }

  /** Flushes what is held back; the stream is finished. */
  end(): { out: Buffer; notes: MaskNote[] } {
    if (this.ended) return { out: EMPTY, notes: [] };
    const r = this.process(EMPTY, true);
    this.ended = true;
    return r;
  }

  private process(chunk: Buffer, final: boolean): { out: Buffer; notes: MaskNote[] } {
    const ctx = this.context.length;
    const buf = Buffer.concat([this.context, this.carry, chunk]);
    const matches = this.masker.find(buf).filter((m) => m.start >= ctx);
    let cut = final ? buf.length : buf.length - this.hold;
    if (!final) for (const m of matches) if (m.start < cut && m.end > cut) cut = m.start;
    const mine = matches.filter((m) => m.end <= cut);
    const notes = new NoteSink();
    const base = this.emitted;
    const out = mine.length === 0 ? Buffer.from(buf.subarray(ctx, cut)) : this.masker.apply(buf, mine, ctx, cut, (m, at) => notes.add(m.detector, base + at, base + at + this.masker.marker(m.detector).length));
    this.emitted += out.length;
    this.context = Buffer.from(buf.subarray(Math.max(0, cut - MAX_LOOKBEHIND_BYTES), cut));
    this.carry = Buffer.from(buf.subarray(cut));
    return { out, notes: notes.notes() };
  }
}
