/**
 * Masking of PostgreSQL results (protocol 3.0): DataRow values, ErrorResponse/NoticeResponse
 * texts, text-format COPY OUT rows and NOTIFY payloads. Rewritten messages get exact lengths;
 * an untouched message is returned as the same Buffer, so the common case copies nothing.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import {
  Backend,
  decodeCopyResponse,
  decodeDataRow,
  decodeErrorFields,
  decodeNotificationResponse,
  decodeRowDescription,
  encodeCopyData,
  encodeErrorResponseFields,
  encodeNoticeResponseFields,
  encodeNotificationResponse,
  type PgMessage,
} from '../protocols/postgres/index.js';
import { Compaction, NoteSink, type Masker } from './masker.js';
import type { MaskNote, Match } from './types.js';

/**
 * Types whose binary wire format (format 1) is their text, so they can be masked like text:
 * text, varchar, bpchar, name, json, unknown, xml, and jsonb (a version byte, then text).
 * Other binary values are left alone: their encodings are type-specific (int8, numeric,
 * arrays, …), a marker would make them undecodable, and they cannot spell a secret as text.
 */
const TEXT_LIKE_BINARY = new Set([25, 1043, 1042, 19, 114, 705, 142, 3802]);

/** ErrorResponse/NoticeResponse fields that carry data (message, detail, hint, context, query). */
const TEXT_FIELDS: Record<string, string> = { M: 'message', D: 'detail', H: 'hint', W: 'where', q: 'internal-query' };

interface Column {
  name: string;
  /** false for binary-format values of a type we do not read as text. */
  scan: boolean;
}

export type Masked = { frame: Buffer; notes: MaskNote[] };

const SEPARATOR = 0; // between values in the scan buffer: no detector crosses a NUL
/** Written after a row in the scan buffer: a NUL, then the bytes the detectors search for ('-----BEGIN', '@', ':', '='). */
const SCAN_END = Buffer.from('\0-----BEGIN@:=', 'latin1');

function writeInt32(out: Buffer, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

/**
 * A row's notes, one per detector and column with a count, as a NoteSink would give them; a
 * short list searched in place, since a row has few. Past 16 places it hands over to a NoteSink
 * (which folds places beyond 64).
 */
class PlaceNotes {
  private readonly list: MaskNote[] = [];
  private sink: NoteSink | undefined;

  add(detector: string, location: string): void {
    if (this.sink) return this.sink.addAt(detector, location);
    for (const n of this.list) if (n.detector === detector && n.location === location) return void n.count++;
    if (this.list.length < 16) return void this.list.push({ detector, location, count: 1 });
    this.sink = new NoteSink();
    for (const n of this.list) this.sink.addAt(n.detector, n.location, n.count);
    this.sink.addAt(detector, location);
  }

  notes(): MaskNote[] {
    return this.sink ? this.sink.notes() : this.list;
  }
}

/**
 * Per session: remembers the last RowDescription (column names and formats) and the COPY
 * format, and masks what the upstream returns with the current Masker. DataRows without a
 * RowDescription before them (Execute without Describe) are read as text columns named by
 * position. A malformed message throws the codec's PgProtocolError: it is not forwarded.
 */
export class PgResultMasker {
  private columns: Column[] = [];
  private copyText = false;
  private scratch = Buffer.allocUnsafe(4096);
  /** Per column of the current description: masked whole by the current masker's rules. */
  private wholeFor: Masker | undefined;
  private whole: boolean[] = [];
  private starts = new Int32Array(64);
  private lens = new Int32Array(64);
  private newLens = new Int32Array(64);
  private changes = new Uint8Array(64);

  constructor(private masker: Masker) {}

  /** Masks with other rules from now on (the next command's decision). */
  setMasker(masker: Masker): void {
    this.masker = masker;
  }

  get current(): Masker {
    return this.masker;
  }

  /** Any backend message: masks what can carry data, learns from descriptions, passes the rest. */
  mask(m: PgMessage): Masked {
    switch (m.code) {
      case Backend.RowDescription:
        this.onRowDescription(m.payload);
        return { frame: m.frame, notes: [] };
      case Backend.DataRow:
        return this.maskDataRow(m.frame, m.payload);
      case Backend.ErrorResponse:
      case Backend.NoticeResponse:
        return this.maskNotice(m.frame, m.payload, m.code);
      case Backend.CopyOutResponse:
      case Backend.CopyBothResponse:
        this.copyText = decodeCopyResponse(m.payload).format === 0;
        return { frame: m.frame, notes: [] };
      case Backend.CopyData:
        return this.copyText ? this.maskCopyData(m.frame, m.payload) : { frame: m.frame, notes: [] };
      case Backend.CopyDone:
      case Backend.ReadyForQuery:
        this.copyText = false;
        return { frame: m.frame, notes: [] };
      case Backend.NotificationResponse:
        return this.maskNotification(m.frame, m.payload);
      default:
        return { frame: m.frame, notes: [] };
    }
  }

  onRowDescription(payload: Buffer): void {
    this.columns = decodeRowDescription(payload).map((f) => ({ name: f.name, scan: f.format === 0 || TEXT_LIKE_BINARY.has(f.typeOid) }));
    this.wholeFor = undefined;
  }

  /** Whether column i is masked whole; computed once per description and masker, not per row. */
  private masksWhole(i: number): boolean {
    if (this.masker.columns.size === 0) return false;
    if (this.wholeFor !== this.masker) {
      this.wholeFor = this.masker;
      this.whole = this.columns.map((c) => this.masker.masksColumn(c.name));
    }
    return i < this.whole.length ? this.whole[i]! : this.masker.masksColumn(this.column(i).name);
  }

  /**
   * Masks the values of one DataRow: whole values of columns named by the rules, detected spans
   * of the others. The payload is copied once into a scan buffer where each value's length
   * field is overwritten with NULs, so values keep their offsets, no match can cross from one
   * value into the next, and a row costs one detection pass however many columns it has. A row
   * with nothing to mask is returned as it came; one with matches is written once (rewriteRow).
   */
  maskDataRow(frame: Buffer, payload: Buffer): Masked {
    const masker = this.masker;
    const size = payload.length;
    const n = size >= 2 ? (((payload[0]! << 8) | payload[1]!) << 16) >> 16 : -1;
    if (n < 0) decodeDataRow(payload); // throws the codec's error for a malformed row
    if (size + SCAN_END.length > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(size + SCAN_END.length, this.scratch.length * 2));
    if (n > this.starts.length) {
      this.starts = new Int32Array(n);
      this.lens = new Int32Array(n);
    }
    const { starts, lens } = this;
    const buf = this.scratch;
    buf.set(payload, 0);
    let wholeColumns = false;
    let pos = 2;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > size) decodeDataRow(payload);
      const len = (payload[pos]! << 24) | (payload[pos + 1]! << 16) | (payload[pos + 2]! << 8) | payload[pos + 3]!;
      buf[pos] = buf[pos + 1] = buf[pos + 2] = buf[pos + 3] = SEPARATOR;
      pos += 4;
      starts[i] = pos;
      lens[i] = len;
      if (len < 0) continue;
      if (pos + len > size) decodeDataRow(payload);
      if (this.masksWhole(i)) wholeColumns = true;
      pos += len;
    }
    if (pos !== size) decodeDataRow(payload);
    // What follows the row in the scan buffer is a NUL (no detector reads a stale byte after a
    // value) and one of each byte the detectors search for natively: a search that finds
    // nothing in the row stops there instead of running through the rest of the buffer.
    buf.set(SCAN_END, pos);
    const matches = masker.find(buf, 2, pos);
    if (matches.length === 0 && !wholeColumns) return { frame, notes: [] };
    return this.rewriteRow(payload, n, matches);
  }

  /**
   * The DataRow with whole columns and matches replaced, and its notes (see maskDataRow): the
   * payload copied in once behind the header, everything between two replaced spans (untouched
   * values with their length fields) moved as one stretch (Compaction), the changed lengths
   * written over theirs.
   */
  private rewriteRow(payload: Buffer, n: number, matches: readonly Match[]): Masked {
    const masker = this.masker;
    const { starts, lens } = this;
    const places = new PlaceNotes();
    const column = masker.marker('column');
    // First the size of each value once masked (kept in newLens when it changes), and the notes.
    if (this.newLens.length < n) {
      this.newLens = new Int32Array(n);
      this.changes = new Uint8Array(n);
    }
    const { newLens, changes } = this;
    let frameSize = payload.length + 5;
    // How far the output runs ahead of the payload at most (see Compaction).
    let lead = 0;
    let mi = 0;
    for (let i = 0; i < n; i++) {
      const len = lens[i]!;
      const end = starts[i]! + Math.max(len, 0);
      const first = mi;
      // A match never spans a NUL separator, so each lies inside one value.
      while (mi < matches.length && matches[mi]!.start < end) mi++;
      let newLen = len;
      let changed = true;
      if (len < 0) {
        // A NULL; the codec writes any negative length as -1.
        newLen = -1;
        changed = len !== -1;
      } else if (this.masksWhole(i)) {
        newLen = column.length;
        places.add('column', this.column(i).name);
      } else if (!(first < mi && this.column(i).scan)) changed = false;
      else {
        const name = this.column(i).name;
        for (let j = first; j < mi; j++) {
          const m = matches[j]!;
          newLen += masker.marker(m.detector).length - (m.end - m.start);
          lead = Math.max(lead, frameSize - payload.length - 5 + newLen - len);
          places.add(m.detector, name);
        }
      }
      newLens[i] = newLen;
      changes[i] = changed ? 1 : 0;
      if (len >= 0) frameSize += newLen - len;
      lead = Math.max(lead, frameSize - payload.length - 5);
    }
    // The payload after the header, values moved to their places; changed lengths written after.
    const w = new Compaction(payload, 0, payload.length, 5, frameSize, lead);
    w.keep(2); // the column count
    mi = 0;
    for (let i = 0; i < n; i++) {
      const start = starts[i]!;
      const len = lens[i]!;
      const end = start + Math.max(len, 0);
      const first = mi;
      while (mi < matches.length && matches[mi]!.start < end) mi++;
      if (changes[i] === 0) continue; // kept with the next stretch
      w.keep(start);
      const lenAt = w.at - 4;
      if (len >= 0 && this.masksWhole(i)) w.put(column, end);
      else if (len >= 0) {
        for (let j = first; j < mi; j++) {
          const m = matches[j]!;
          w.keep(m.start);
          w.put(masker.marker(m.detector), m.end);
        }
      }
      writeInt32(w.out, lenAt, newLens[i]!);
    }
    w.keep(payload.length);
    const out = w.result();
    out[0] = Backend.DataRow;
    writeInt32(out, 1, frameSize - 1);
    return { frame: out, notes: places.notes() };
  }

  /** Masks the texts of an ErrorResponse or NoticeResponse (e.g. a unique-violation DETAIL quoting the row). */
  maskNotice(frame: Buffer, payload: Buffer, code: number = frame[0]!): Masked {
    const fields = decodeErrorFields(payload, code === Backend.ErrorResponse ? 'ErrorResponse' : 'NoticeResponse');
    const notes = new NoteSink();
    let changed = false;
    for (const [key, name] of Object.entries(TEXT_FIELDS)) {
      const text = fields[key];
      if (text === undefined) continue;
      const r = this.masker.maskText(text);
      if (r.notes.length === 0) continue;
      changed = true;
      fields[key] = r.text;
      for (const n of r.notes) notes.addAt(n.detector, `${code === Backend.ErrorResponse ? 'error' : 'notice'}.${name}`, n.count);
    }
    if (!changed) return { frame, notes: [] };
    return { frame: code === Backend.ErrorResponse ? encodeErrorResponseFields(fields) : encodeNoticeResponseFields(fields), notes: notes.notes() };
  }

  private maskCopyData(frame: Buffer, payload: Buffer): Masked {
    const r = this.masker.maskBytes(payload);
    if (r.out === payload) return { frame, notes: [] };
    const notes = new NoteSink();
    for (const n of r.notes) notes.addAt(n.detector, 'copy', n.count);
    return { frame: encodeCopyData(r.out), notes: notes.notes() };
  }

  private maskNotification(frame: Buffer, payload: Buffer): Masked {
    const n = decodeNotificationResponse(payload);
    const r = this.masker.maskText(n.payload);
    if (r.notes.length === 0) return { frame, notes: [] };
    const notes = new NoteSink();
    for (const x of r.notes) notes.addAt(x.detector, `notify.${n.channel}`, x.count);
    return { frame: encodeNotificationResponse({ ...n, payload: r.text }), notes: notes.notes() };
  }

  private column(i: number): Column {
    return this.columns[i] ?? { name: `column ${i + 1}`, scan: true };
  }
}
