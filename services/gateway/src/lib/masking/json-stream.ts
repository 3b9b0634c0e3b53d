/**
 * JSON path rules over a JSON byte stream (an HTTP response body), chunk by chunk. The document
 * is never built nor held: a small state machine follows the structure, keeps the path of the
 * value it is in (one key or index per open container), and when a value's path matches a
 * rule it writes the JSON string "[MASKED:json-path]" in its place and drops the value's bytes
 * as they come, whatever their size. Every other byte passes as sent (formatting, key order,
 * numbers beyond 2^53).
 *
 * Memory is bounded by the nesting depth (at most MAX_DEPTH open containers) and the member
 * names kept for matching (each at most `maxKeyBytes`; a longer name cannot equal any name in a
 * rule and matches wildcards only), never by the document's size. A sequence of documents
 * (Kubernetes watch streams, NDJSON) is read as consecutive documents, each with its own `$`.
 *
 * Input that is not JSON, or nests deeper than MAX_DEPTH, ends the path rules for the rest of
 * the stream: it passes on unchanged (the detectors still run after this) and `error` says
 * where and why; the notes of that chunk say so too.
 */
import { NameReader } from './json-name.js';
import { formatPath, PathAutomaton, type JsonPath, type PathKey } from './json-path.js';
import { markerText, NoteSink } from './masker.js';
import type { MaskNote } from './types.js';

/** Open containers beyond this end the path rules (the value is as deep as findJsonPaths goes). */
export const MAX_DEPTH = 256;

const enum S {
  /** Expecting a value (top level, array element, or after a member's ':'). */
  Value,
  /** After '{': a member name or '}'. */
  ObjFirst,
  /** After '[': a value or ']'. */
  ArrFirst,
  /** After ',' in an object: a member name. */
  Key,
  /** Inside a member name. */
  KeyStr,
  /** After a member name: ':'. */
  Colon,
  /** After a value inside a container: ',' or the closing bracket. */
  After,
  /** Inside a string value. */
  Str,
  /** Inside a number, true, false or null. */
  Scalar,
  /** Inside a matched value: its bytes are dropped. */
  Skip,
  /** Not JSON (or too deep): pass everything on. */
  Failed,
}

const enum Skipping {
  Str,
  Container,
  Scalar,
}

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDelim = (c: number): boolean => isWs(c) || c === 0x2c || c === 0x5d || c === 0x7d;
/** First bytes of a number or a literal. */
const isScalarStart = (c: number): boolean => c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e;

/** Bytes of numbers and literals (loosely: the structure is what matters here). */
const SCALAR = new Uint8Array(256);
for (const ch of '0123456789+-.eEtrufalsn') SCALAR[ch.charCodeAt(0)] = 1;
const isScalarByte = (c: number): boolean => SCALAR[c] === 1;

const EMPTY = Buffer.alloc(0);
const MARKER = Buffer.from(JSON.stringify(markerText('json-path')));

export interface JsonPathStreamOptions {
  /** Longest member name kept for matching. @default 1024 (raised to fit every name the rules use) */
  maxKeyBytes?: number;
}

export class JsonPathStream {
  private state = S.Value;
  /** Per open container: array (its current index in `path`) or object. */
  private readonly arrays: boolean[] = [];
  /** Per open container: the index of the current element, or the text of the current member's name (filled when needed). */
  private readonly path: PathKey[] = [];
  /** Per open container: the automaton's state set of the container's own value, and its size. */
  private readonly sets: Int32Array[] = [];
  private readonly sizes = new Int32Array(MAX_DEPTH + 1);
  private scratch: Int32Array;
  private readonly automaton: PathAutomaton;
  private readonly names: NameReader;
  /** The current member's name as the rules see it. */
  private member: PathKey = null;
  private esc = false;
  private skipping = Skipping.Scalar;
  private skipDepth = 0;
  private skipInStr = false;
  private consumed = 0;
  /** Values replaced so far. */
  masked = 0;
  /** Why the rules stopped applying (not JSON, too deep); undefined while they apply. */
  error: string | undefined;

  constructor(
    private readonly paths: readonly JsonPath[],
    opts: JsonPathStreamOptions = {},
  ) {
    const longest = Math.max(0, ...paths.flatMap((p) => p.steps.map((s) => (s.kind === 'key' ? Buffer.byteLength(s.name) : 0))));
    this.automaton = new PathAutomaton(paths);
    this.scratch = new Int32Array(this.automaton.width);
    this.names = new NameReader(this.automaton, Math.max(opts.maxKeyBytes ?? 1024, longest * 6 + 2));
  }

  /** Open containers: the memory held is proportional to this. */
  get depth(): number {
    return this.arrays.length;
  }

  push(chunk: Buffer): { out: Buffer; notes: MaskNote[] } {
    if (this.state === S.Failed || this.paths.length === 0) {
      this.consumed += chunk.length;
      return { out: chunk, notes: [] };
    }
    const notes = new NoteSink();
    const parts: Buffer[] = [];
    let from = 0;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === S.Skip) {
        const end = this.skip(chunk, i);
        if (end < 0) {
          from = n;
          break;
        }
        i = from = end;
        this.afterValue();
        continue;
      }
      if (this.state === S.Str || this.state === S.KeyStr) {
        const start = i;
        const end = this.stringEnd(chunk, i);
        if (this.state === S.Str) {
          if (end < 0) break;
          i = end;
          this.afterValue();
          continue;
        }
        if (end < 0) {
          this.names.add(chunk.subarray(start, n));
          break;
        }
        if (this.names.fresh) this.member = this.names.finish(chunk, start, end - 1);
        else {
          this.names.add(chunk.subarray(start, end - 1));
          this.member = this.names.finish();
        }
        this.state = S.Colon;
        i = end;
        continue;
      }
      const c = chunk[i]!;
      if (this.state === S.Scalar) {
        if (isScalarByte(c)) {
          i++;
          continue;
        }
        if (!isDelim(c)) {
          this.fail(`unexpected ${JSON.stringify(String.fromCharCode(c))} at byte ${this.consumed + i}`, notes);
          break;
        }
        this.afterValue();
        continue;
      }
      if (isWs(c)) {
        i++;
        continue;
      }
      const step = this.structural(c);
      if (step === 'fail') {
        this.fail(`unexpected ${JSON.stringify(String.fromCharCode(c))} at byte ${this.consumed + i}`, notes);
        break;
      }
      if (step === 'mask') {
        if (i > from) parts.push(chunk.subarray(from, i));
        parts.push(MARKER);
        this.masked++;
        // Past 64 places a frame's notes fold into one count: no path to format then.
        notes.addAt('json-path', notes.full ? '' : formatPath(this.path));
        // The skip starts at the value's first byte; none of its bytes are emitted.
        this.startSkip(c);
        from = i;
        continue;
      }
      i++;
    }
    if (this.state !== S.Skip && from < n) parts.push(from === 0 ? chunk : chunk.subarray(from));
    this.names.detach();
    this.consumed += n;
    return { out: parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts), notes: notes.notes() };
  }

  /** The stream is finished. Nothing is held back, so there is nothing left to emit. */
  end(): { out: Buffer; notes: MaskNote[] } {
    return { out: EMPTY, notes: [] };
  }

  /** Handles one non-whitespace byte outside strings and scalars. */
  private structural(c: number): 'ok' | 'mask' | 'fail' {
    switch (this.state) {
      case S.Value:
        return this.value(c);
      case S.ArrFirst:
        if (c === 0x5d) return this.close(true);
        this.path[this.path.length - 1] = 0;
        return this.value(c);
      case S.ObjFirst:
        if (c === 0x7d) return this.close(false);
        return this.key(c);
      case S.Key:
        return this.key(c);
      case S.Colon:
        if (c !== 0x3a) return 'fail';
        this.state = S.Value;
        return 'ok';
      case S.After:
        return this.after(c);
      default:
        return 'fail';
    }
  }

  /** The first byte of a value: matched → mask; else open a container, a string or a scalar. */
  private value(c: number): 'ok' | 'mask' | 'fail' {
    if (c !== 0x7b && c !== 0x5b && c !== 0x22 && !isScalarStart(c)) return 'fail';
    const depth = this.arrays.length;
    const set = this.scratch;
    let size: number;
    if (depth === 0) size = this.automaton.root(set);
    else {
      const inArray = this.arrays[depth - 1]!;
      const from = this.sizes[depth - 1]!;
      // An empty set: nothing inside this container can match, nothing to step.
      size = from === 0 ? 0 : this.automaton.step(this.sets[depth - 1]!, from, inArray ? this.path[depth - 1]! : this.member, set);
      const hit = from > 0 && this.automaton.final;
      // The name's text is needed for the notes: of this value, or of values inside it.
      if (!inArray && (hit || c === 0x7b || c === 0x5b)) this.path[depth - 1] = this.names.display();
      if (hit) return 'mask';
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) return 'fail';
      const array = c === 0x5b;
      this.arrays.push(array);
      this.path.push(array ? 0 : null);
      // The container keeps this set; the old one at this depth becomes the scratch.
      this.scratch = this.sets[depth] ?? new Int32Array(this.automaton.width);
      this.sets[depth] = set;
      this.sizes[depth] = size;
      this.state = array ? S.ArrFirst : S.ObjFirst;
    } else if (c === 0x22) {
      this.esc = false;
      this.state = S.Str;
    } else this.state = S.Scalar;
    return 'ok';
  }

  private key(c: number): 'ok' | 'fail' {
    if (c !== 0x22) return 'fail';
    this.esc = false;
    this.names.begin();
    this.state = S.KeyStr;
    return 'ok';
  }

  private after(c: number): 'ok' | 'fail' {
    const array = this.arrays[this.arrays.length - 1]!;
    if (c === 0x2c) {
      if (array) {
        this.path[this.path.length - 1] = (this.path[this.path.length - 1] as number) + 1;
        this.state = S.Value;
      } else this.state = S.Key;
      return 'ok';
    }
    if (c === (array ? 0x5d : 0x7d)) return this.close(array);
    return 'fail';
  }

  private close(array: boolean): 'ok' | 'fail' {
    if (this.arrays[this.arrays.length - 1] !== array) return 'fail';
    this.arrays.pop();
    this.path.pop();
    this.afterValue();
    return 'ok';
  }

  private afterValue(): void {
    this.state = this.arrays.length === 0 ? S.Value : S.After;
  }

  /** Index after the closing quote of the string being read, or -1 when it goes on past this chunk. */
  private stringEnd(buf: Buffer, from: number): number {
    let p = from;
    if (this.esc) {
      if (p >= buf.length) return -1;
      this.esc = false;
      p++;
    }
    const n = buf.length;
    while (p < n) {
      const c = buf[p]!;
      if (c === 0x22) return p + 1;
      if (c === 0x5c) {
        if (p + 1 >= n) {
          this.esc = true;
          return -1;
        }
        p += 2;
      } else p++;
    }
    return -1;
  }

  private startSkip(c: number): void {
    this.state = S.Skip;
    this.esc = false;
    this.skipInStr = false;
    this.skipDepth = 0;
    this.skipping = c === 0x22 ? Skipping.Str : c === 0x7b || c === 0x5b ? Skipping.Container : Skipping.Scalar;
  }

  /** Moves through a matched value; the index just after it, or -1 when it goes on past this chunk. */
  private skip(buf: Buffer, from: number): number {
    const n = buf.length;
    if (this.skipping === Skipping.Scalar) {
      let p = from;
      while (p < n && !isDelim(buf[p]!)) p++;
      return p < n ? p : -1;
    }
    if (this.skipping === Skipping.Str) {
      // `from` is the opening quote the first time round.
      if (this.skipDepth === 0) {
        this.skipDepth = 1;
        from++;
      }
      return this.stringEnd(buf, from);
    }
    let p = from;
    while (p < n) {
      if (this.skipInStr) {
        const end = this.stringEnd(buf, p);
        if (end < 0) return -1;
        this.skipInStr = false;
        p = end;
        continue;
      }
      const c = buf[p++]!;
      if (c === 0x22) {
        this.skipInStr = true;
        this.esc = false;
      } else if (c === 0x7b || c === 0x5b) this.skipDepth++;
      else if ((c === 0x7d || c === 0x5d) && --this.skipDepth === 0) return p;
    }
    return -1;
  }

  private fail(why: string, notes: NoteSink): void {
    this.state = S.Failed;
    this.error = `JSON path rules not applied from there on: ${why}`;
    notes.addAt('json-path', `not applied: ${why}`, 0);
  }
}
