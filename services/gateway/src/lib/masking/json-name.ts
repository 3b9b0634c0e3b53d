import type { PathAutomaton, PathKey } from './json-path.js';

/**
 * The member name a JSON stream is reading, kept for two uses at the least cost: the rules need
 * only to know which of their names it is (compared as bytes, nothing decoded), and the mask
 * notes need its text, decoded only for a value that is masked or opens a container. A name
 * read whole from one chunk (the usual case) is pointed at, not copied; one that crosses chunks
 * is copied, up to `maxBytes` (a longer one equals no rule's name: it is dropped).
 */
export class NameReader {
  private parts: Buffer[] = [];
  private bytes = 0;
  private long = false;
  private buf: Buffer | undefined;
  private start = 0;
  private end = 0;
  private text: PathKey = null;
  private decoded = false;

  constructor(
    private readonly automaton: PathAutomaton,
    private readonly maxBytes: number,
  ) {}

  begin(): void {
    this.parts = [];
    this.bytes = 0;
    this.long = false;
    this.buf = undefined;
    this.decoded = false;
  }

  /** Whether nothing of the current name has been copied yet (it may still be read in place). */
  get fresh(): boolean {
    return this.bytes === 0 && !this.long;
  }

  /** Part of a name that goes on in the next chunk. */
  add(part: Buffer): void {
    if (this.long) return;
    this.bytes += part.length;
    if (this.bytes > this.maxBytes) {
      this.long = true;
      this.parts = [];
    } else if (part.length > 0) this.parts.push(Buffer.from(part));
  }

  /** The name ends: whole in `buf[start, end)`, or (no buf) in the parts added. Returns it as the rules see it. */
  finish(buf?: Buffer, start = 0, end = 0): PathKey {
    if (this.long) return this.settle(null);
    const [b, s, e] = buf ? [buf, start, end] : [Buffer.concat(this.parts), 0, this.bytes];
    this.parts = [];
    if (e - s > this.maxBytes) {
      this.long = true;
      return this.settle(null);
    }
    for (let p = s; p < e; p++) {
      if (b[p] !== 0x5c) continue;
      // Escapes (rare): decode now, compare the text.
      return this.settle(decode(b, s, e));
    }
    [this.buf, this.start, this.end] = [b, s, e];
    return this.automaton.nameFor(b, s, e);
  }

  /** The name's text for notes (null when it was too long to keep). */
  display(): PathKey {
    if (!this.decoded) this.settle(this.buf ? this.buf.toString('utf8', this.start, this.end) : null);
    return this.text;
  }

  /** The chunk the name points into is going: keep its text instead. */
  detach(): void {
    if (this.buf && !this.decoded) this.display();
    this.buf = undefined;
  }

  private settle(text: PathKey): PathKey {
    this.text = text;
    this.decoded = true;
    this.buf = undefined;
    return text;
  }
}

function decode(buf: Buffer, start: number, end: number): string | null {
  try {
    return JSON.parse(`"${buf.toString('utf8', start, end)}"`) as string;
  } catch {
    return null;
  }
}
