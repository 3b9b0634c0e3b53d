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
  encodeDataRow,
  encodeErrorResponseFields,
  encodeNoticeResponseFields,
  encodeNotificationResponse,
  type PgMessage,
} from '../protocols/postgres/index.js';
import { NoteSink, type Masker } from './masker.js';
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
   * value into the next, and a row costs one detection pass however many columns it has.
   */
  maskDataRow(frame: Buffer, payload: Buffer): Masked {
    const masker = this.masker;
    const n = payload.length >= 2 ? payload.readInt16BE(0) : -1;
    if (n < 0) decodeDataRow(payload); // throws the codec's error for a malformed row
    if (payload.length > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(payload.length, this.scratch.length * 2));
    if (n > this.starts.length) {
      this.starts = new Int32Array(n);
      this.lens = new Int32Array(n);
    }
    const { starts, lens } = this;
    const buf = this.scratch;
    // Rows are mostly short: a loop beats the native copy's call overhead there.
    if (payload.length < 256) for (let k = 0; k < payload.length; k++) buf[k] = payload[k]!;
    else payload.copy(buf, 0, 0, payload.length);
    let wholeColumns = false;
    let pos = 2;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > payload.length) decodeDataRow(payload);
      const len = payload.readInt32BE(pos);
      buf[pos] = buf[pos + 1] = buf[pos + 2] = buf[pos + 3] = SEPARATOR;
      pos += 4;
      starts[i] = pos;
      lens[i] = len;
      if (len < 0) continue;
      if (pos + len > payload.length) decodeDataRow(payload);
      if (this.masksWhole(i)) wholeColumns = true;
      pos += len;
    }
    if (pos !== payload.length) decodeDataRow(payload);
    const matches = masker.find(buf, 2, pos);
    if (matches.length === 0 && !wholeColumns) return { frame, notes: [] };
    const notes = new NoteSink();
    const out = new Array<Buffer | string | null>(n);
    let mi = 0;
    for (let i = 0; i < n; i++) {
      const start = starts[i]!;
      const len = lens[i]!;
      const end = start + Math.max(len, 0);
      const mine: Match[] = [];
      // A match never spans a NUL separator, so each lies inside one value.
      while (mi < matches.length && matches[mi]!.start < end) mine.push(matches[mi++]!);
      const col = this.column(i);
      if (len < 0) out[i] = null;
      else if (this.masksWhole(i)) {
        out[i] = masker.marker('column');
        notes.addAt('column', col.name);
      } else if (mine.length === 0 || !col.scan) out[i] = payload.subarray(start, end);
      else {
        for (const m of mine) notes.addAt(m.detector, col.name);
        out[i] = masker.apply(payload, mine, start, end);
      }
    }
    return { frame: encodeDataRow(out), notes: notes.notes() };
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
