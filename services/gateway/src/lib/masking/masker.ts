import { DETECTOR_IDS, PASSES } from './detectors.js';
import { MaskRulesError } from './errors.js';
import { compileJsonPaths, findJsonPaths, JsonSyntaxError, type JsonPath } from './json-path.js';
import type { DetectorConfig, Scan } from './scan.js';
import { tokenRulesFor } from './tokens.js';
import type { MaskNote, MaskRules, Match } from './types.js';

/** Marker replacing a masked span: says what was there (for the agent and the SOC), never how long. */
export const markerText = (detector: string): string => `[MASKED:${detector}]`;

/** At most this many notes per masked message; further matches are folded into one per detector. */
const MAX_NOTES = 64;

/**
 * Finds secrets and PII in bytes and replaces them with markers. Compiled once from a policy's
 * mask rules; immutable and safe to share between sessions. Masking never throws on input:
 * any bytes are scanned as (possibly invalid) UTF-8 text.
 */
export class Masker {
  readonly detectors: ReadonlySet<string>;
  readonly columns: ReadonlySet<string>;
  readonly jsonPaths: readonly JsonPath[];
  private readonly markers = new Map<string, Buffer>();
  private readonly cfg: DetectorConfig;

  constructor(readonly rules: MaskRules = {}) {
    const ids = rules.detectors ?? [...DETECTOR_IDS];
    const unknown = ids.filter((d) => !DETECTOR_IDS.has(d));
    if (unknown.length > 0) throw new MaskRulesError(`unknown detector${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${[...DETECTOR_IDS].join(', ')}`);
    const enabled = new Set(ids);
    this.detectors = enabled;
    const tokenRules = tokenRulesFor(enabled);
    this.cfg = {
      enabled,
      tokenRules,
      anyTokenRule: tokenRules.includes(1),
      nationalId: enabled.has('national-id'),
      awsSecret: enabled.has('aws-secret-access-key'),
      privateKey: enabled.has('private-key'),
      email: enabled.has('email'),
      urlPassword: enabled.has('url-password'),
      assignment: enabled.has('secret-assignment'),
      card: enabled.has('card-number'),
      iban: enabled.has('iban'),
      phone: enabled.has('phone-number'),
    };
    this.columns = new Set((rules.columns ?? []).map((c) => c.toLowerCase()));
    this.jsonPaths = compileJsonPaths(rules.jsonPaths ?? []);
  }

  /** The marker bytes for a detector (cached). */
  marker(detector: string): Buffer {
    let m = this.markers.get(detector);
    if (!m) this.markers.set(detector, (m = Buffer.from(markerText(detector))));
    return m;
  }

  /** Whether a result column is masked whole by a column rule. */
  masksColumn(name: string): boolean {
    return this.columns.size > 0 && this.columns.has(name.toLowerCase());
  }

  /**
   * Sorted, non-overlapping matches in buf[from, to); overlapping finds merge into the first.
   * With `until`, the scan may stop early: every span that ends at or before `until` is as a
   * full scan gives it, and one that reaches past it from before it starts where it would; later
   * ones may be missing (a stream needs no more of its held-back tail).
   */
  find(buf: Buffer, from = 0, to = buf.length, until = to): Match[] {
    if (to - from < 6 || this.detectors.size === 0) return [];
    const scan: Scan = { buf, from, to, out: [], cfg: this.cfg, until };
    for (const pass of PASSES) pass(scan);
    return mergeMatches(scan.out);
  }

  /** Masks buf; returns the same Buffer object when nothing matched. */
  maskBytes(buf: Buffer): { out: Buffer; notes: MaskNote[] } {
    const matches = this.find(buf);
    if (matches.length === 0) return { out: buf, notes: [] };
    const notes = new NoteSink();
    const out = this.apply(buf, matches, 0, buf.length, (m, at, end) => notes.add(m.detector, at, end));
    return { out, notes: notes.notes() };
  }

  maskText(s: string): { text: string; notes: MaskNote[] } {
    const buf = Buffer.from(s, 'utf8');
    const r = this.maskBytes(buf);
    return { text: r.out === buf ? s : r.out.toString('utf8'), notes: r.notes };
  }

  /**
   * Masks a complete JSON document: values at the rule's JSON paths become the JSON string
   * "[MASKED:json-path]", then the detectors run over the result. A body that is not JSON gets
   * the detectors only, and `error` says why the paths were not applied.
   */
  maskJson(body: Buffer): { out: Buffer; notes: MaskNote[]; error?: string } {
    const notes = new NoteSink();
    let doc = body;
    let error: string | undefined;
    if (this.jsonPaths.length > 0) {
      let spans: { start: number; end: number; path: string }[] = [];
      try {
        spans = findJsonPaths(body, this.jsonPaths);
      } catch (err) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        error = `not JSON, JSON path rules not applied: ${err.message}`;
      }
      if (spans.length > 0) {
        const marker = Buffer.from(JSON.stringify(markerText('json-path')));
        const parts: Buffer[] = [];
        let pos = 0;
        for (const s of spans) {
          parts.push(body.subarray(pos, s.start), marker);
          notes.addAt('json-path', s.path);
          pos = s.end;
        }
        parts.push(body.subarray(pos));
        doc = Buffer.concat(parts);
      }
    }
    const matches = this.find(doc);
    const out = matches.length === 0 ? doc : this.apply(doc, matches, 0, doc.length, (m, at, end) => notes.add(m.detector, at, end));
    return { out, notes: notes.notes(), ...(error !== undefined ? { error } : {}) };
  }

  /** buf[from, to) with every match replaced by its marker; `each` sees where the marker lies in the output. */
  apply(buf: Buffer, matches: readonly Match[], from: number, to: number, each?: (m: Match, outOffset: number, outEnd: number) => void): Buffer {
    const markers = new Array<Buffer>(matches.length);
    let size = to - from;
    let lead = 0;
    for (let i = 0; i < matches.length; i++) {
      const m = matches[i]!;
      const marker = (markers[i] = this.marker(m.detector));
      size += marker.length - (m.end - m.start);
      lead = Math.max(lead, size - (to - from));
    }
    const w = new Compaction(buf, from, to, 0, size, lead);
    for (let i = 0; i < matches.length; i++) {
      const m = matches[i]!;
      w.keep(m.start);
      const marker = markers[i]!;
      each?.(m, w.at, w.at + marker.length);
      w.put(marker, m.end);
    }
    w.keep(to);
    return w.result();
  }
}

/**
 * Writes a masked copy of src[from, to) into one buffer at `base`: the source is copied in once,
 * `lead` bytes further (the most the output ever runs ahead of the source, for markers longer than
 * what they replace), then each stretch kept moves left (or stays) to its place and each marker
 * lands where no source byte waits any more. Copies within one buffer, and of whole Buffers, are
 * the cheap native ones (a copy of part of another Buffer makes a view first).
 */
export class Compaction {
  readonly out: Buffer;
  /** Where the next output byte goes. */
  at: number;
  /** The next source byte to place. */
  private pos: number;
  /** out index of source byte q: q + shift. */
  private readonly shift: number;

  constructor(
    src: Buffer,
    from: number,
    to: number,
    base: number,
    private readonly size: number,
    lead: number,
  ) {
    this.out = Buffer.allocUnsafe(Math.max(size, base + lead + to - from));
    this.out.set(from === 0 && to === src.length ? src : src.subarray(from, to), base + lead);
    this.at = base;
    this.pos = from;
    this.shift = base + lead - from;
  }

  /** Source bytes up to `end` go out as they are. */
  keep(end: number): void {
    const n = end - this.pos;
    if (n <= 0) return;
    const s = this.pos + this.shift;
    if (s !== this.at) this.out.copyWithin(this.at, s, s + n);
    this.at += n;
    this.pos = end;
  }

  /** `bytes` go out instead of the source bytes up to `end`. */
  put(bytes: Buffer, end: number): void {
    this.out.set(bytes, this.at);
    this.at += bytes.length;
    this.pos = end;
  }

  /** The output: `size` bytes from the start of out. */
  result(): Buffer {
    return this.out.length === this.size ? this.out : this.out.subarray(0, this.size);
  }
}

/** Sorts by start and merges overlapping matches (the earlier, or longer, one names the span). */
export function mergeMatches(out: Match[]): Match[] {
  if (out.length <= 1) return out;
  let sorted = true;
  for (let i = 1; i < out.length && sorted; i++) sorted = out[i - 1]!.start <= out[i]!.start;
  if (!sorted) out.sort((a, b) => a.start - b.start || b.end - a.end);
  // Overlaps are rare: without any, the sorted list is the answer.
  let overlap = false;
  for (let i = 1; i < out.length && !overlap; i++) overlap = out[i]!.start < out[i - 1]!.end;
  if (!overlap) return out;
  const merged: Match[] = [out[0]!];
  for (let i = 1; i < out.length; i++) {
    const m = out[i]!;
    const last = merged[merged.length - 1]!;
    if (m.start < last.end) {
      if (m.end > last.end) merged[merged.length - 1] = { start: last.start, end: m.end, detector: last.detector };
    } else merged.push(m);
  }
  return merged;
}

/** Collects notes, aggregated by detector and location, bounded in number. */
export class NoteSink {
  /** Notes in the order their places came, and the same by detector and location. */
  private readonly list: MaskNote[] = [];
  private readonly byDetector = new Map<string, Map<string, MaskNote>>();
  private readonly overflow = new Map<string, { first: number; last: number; count: number }>();
  /**
   * Notes add() made without a look-up: byte ranges coming in increasing order cannot repeat an
   * earlier one, so their location text waits for notes() and the index for when it is needed.
   */
  private readonly spots: { note: MaskNote; start: number; end: number }[] = [];
  /** Whether add() still skips the look-up (ranges in increasing order, no byte range named by addAt). */
  private unindexed = true;
  private lastStart = -1;
  private lastEnd = -1;

  /** A match at output bytes [start, end). */
  add(detector: string, start: number, end: number): void {
    if (this.list.length < MAX_NOTES) {
      if (this.unindexed && (start > this.lastStart || (start === this.lastStart && end > this.lastEnd))) {
        this.lastStart = start;
        this.lastEnd = end;
        const note = { detector, location: '', count: 1 };
        this.list.push(note);
        this.spots.push({ note, start, end });
        return;
      }
      return this.addAt(detector, `bytes ${start}-${end}`);
    }
    const o = this.overflow.get(detector);
    if (o) {
      o.last = end;
      o.count++;
    } else this.overflow.set(detector, { first: start, last: end, count: 1 });
  }

  /** A match at a named place (a column, an error field, a JSON path). */
  addAt(detector: string, location: string, count = 1): void {
    // A place named like a byte range may be one add() noted, or one add() will note.
    if (this.unindexed && location.startsWith('bytes ')) this.indexSpots();
    let places = this.byDetector.get(detector);
    const n = places?.get(location);
    if (n) n.count += count;
    else if (this.list.length < MAX_NOTES) {
      const note = { detector, location, count };
      if (!places) this.byDetector.set(detector, (places = new Map<string, MaskNote>()));
      places.set(location, note);
      this.list.push(note);
    } else {
      const o = this.overflow.get(detector) ?? { first: -1, last: -1, count: 0 };
      o.count += count;
      this.overflow.set(detector, o);
    }
  }

  /** Writes the spots' locations and puts them in the index; add() looks up from now on. */
  private indexSpots(): void {
    this.writeSpots();
    for (const { note } of this.spots) {
      let places = this.byDetector.get(note.detector);
      if (!places) this.byDetector.set(note.detector, (places = new Map<string, MaskNote>()));
      places.set(note.location, note);
    }
    this.unindexed = false;
  }

  private writeSpots(): void {
    for (const s of this.spots) if (s.note.location === '') s.note.location = `bytes ${s.start}-${s.end}`;
  }

  get size(): number {
    return this.list.length + this.overflow.size;
  }

  /** Further places are folded into one count per detector. */
  get full(): boolean {
    return this.list.length >= MAX_NOTES;
  }

  notes(): MaskNote[] {
    this.writeSpots();
    const out = this.list.slice();
    for (const [detector, o] of this.overflow) out.push({ detector, location: o.first >= 0 ? `bytes ${o.first}-${o.last} (and others)` : 'more places', count: o.count });
    return out;
  }
}
