import { MAX_LOOKBEHIND_BYTES, MAX_MATCH_BYTES } from './detectors.js';
import { NoteSink, type Masker } from './masker.js';
import type { MaskNote } from './types.js';

const EMPTY = Buffer.alloc(0);
/** Longer than every match but a private key block or a JWT. */
const MIN_HOLD = 256;
/** Room a stream keeps beyond what it holds (a larger chunk once does not pin its size). */
const MAX_SPARE = 256 * 1024;

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
 * as look-behind context. Memory stays below context + hold + one chunk (and 256 KiB of spare
 * room in the scan buffer, which is reused from push to push). Notes give byte ranges in the
 * masked output stream.
 */
export class StreamMasker {
  private readonly hold: number;
  /**
   * The scan buffer, kept from push to push: [0, context) is look-behind already emitted,
   * [context, context + carry) the held-back bytes; each chunk is copied in after them, and what
   * is kept moves to the front. No Buffer per push but the output.
   */
  private work: Buffer = EMPTY;
  private context = 0;
  private carry = 0;
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
    return this.carry;
  }

  push(chunk: Buffer): { out: Buffer; notes: MaskNote[] } {
    if (this.ended) throw new Error('StreamMasker.push after end()');
    this.append(chunk);
    if (this.carry <= this.hold) return { out: EMPTY, notes: [] };
    return this.process(false);
  }

  /**
   * Emits what is held back and goes on: an interactive stream (exec output) that went quiet is
   * not kept waiting for bytes that may never come. A match split by a flush is not found.
   */
  flush(): { out: Buffer; notes: MaskNote[] } {
    if (this.ended || this.carry === 0) return { out: EMPTY, notes: [] };
    return this.process(true);
  }

  /** Flushes what is held back; the stream is finished. */
  end(): { out: Buffer; notes: MaskNote[] } {
    if (this.ended) return { out: EMPTY, notes: [] };
    const r = this.process(true);
    this.ended = true;
    this.work = EMPTY;
    return r;
  }

  private append(chunk: Buffer): void {
    const used = this.context + this.carry;
    if (used + chunk.length > this.work.length) {
      const grown = Buffer.allocUnsafe(Math.max(used + chunk.length, Math.min(this.work.length * 2, used + chunk.length + MAX_SPARE)));
      this.work.copy(grown, 0, 0, used);
      this.work = grown;
    }
    this.work.set(chunk, used);
    this.carry += chunk.length;
  }

  private process(final: boolean): { out: Buffer; notes: MaskNote[] } {
    const ctx = this.context;
    const len = ctx + this.carry;
    // A view of exactly the bytes held: detectors and native searches stop at its end.
    const buf = this.work.subarray(0, len);
    let cut = final ? len : len - this.hold;
    // Matches starting in the held-back tail are found again next time: no need to look for them.
    const found = this.masker.find(buf, 0, len, cut);
    if (!final) for (const m of found) if (m.start >= ctx && m.start < cut && m.end > cut) cut = m.start;
    const mine = found.filter((m) => m.start >= ctx && m.end <= cut);
    const notes = new NoteSink();
    const base = this.emitted;
    const out = mine.length === 0 ? Buffer.from(buf.subarray(ctx, cut)) : this.masker.apply(buf, mine, ctx, cut, (m, at, end) => notes.add(m.detector, base + at, base + end));
    this.emitted += out.length;
    // Keep the last emitted bytes as look-behind, and the rest, at the front.
    const keep = Math.max(0, cut - MAX_LOOKBEHIND_BYTES);
    this.context = cut - keep;
    this.carry = len - cut;
    if (this.work.length > MAX_SPARE + len - keep) this.work = Buffer.from(this.work.subarray(keep, len));
    else this.work.copyWithin(0, keep, len);
    return { out, notes: notes.notes() };
  }
}
