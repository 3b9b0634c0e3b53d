import { GitProtocolError } from './errors.js';

/** Special pkt-lines (gitprotocol-v2 / gitprotocol-common "pkt-line Format"). */
export const enum PktSpecial {
  /** 0000 */
  Flush = 0,
  /** 0001, protocol v2 section delimiter */
  Delim = 1,
  /** 0002, protocol v2 stateless response end */
  ResponseEnd = 2,
}

export type PktLine = { kind: 'data'; payload: Buffer } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'response-end' };

/** LARGE_PACKET_MAX: a pkt-line is at most 65520 bytes including its 4-byte length. */
export const MAX_PKT_LINE = 65520;

/**
 * Incremental pkt-line reader: emits whole lines, keeps the remainder. `stopAfterFlush` makes
 * it stop at the first flush-pkt so that what follows (a pack) can be taken with `remainder`.
 */
export class PktLineReader {
  private buf: Buffer = Buffer.alloc(0);
  private stopped = false;

  constructor(private readonly opts: { stopAfterFlush?: boolean } = {}) {}

  get bufferedBytes(): number {
    return this.buf.length;
  }

  /** Bytes after the flush-pkt once stopped (and anything pushed since). */
  remainder(): Buffer {
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }

  get stoppedAtFlush(): boolean {
    return this.stopped;
  }

  push(chunk: Buffer): { lines: PktLine[]; error?: GitProtocolError } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const lines: PktLine[] = [];
    if (this.stopped) return { lines };
    let off = 0;
    while (this.buf.length - off >= 4) {
      const hex = this.buf.toString('latin1', off, off + 4);
      if (!/^[0-9a-f]{4}$/i.test(hex)) {
        this.buf = Buffer.alloc(0);
        return { lines, error: new GitProtocolError('BAD_PKT_LINE', `invalid pkt-line length ${JSON.stringify(hex)}`) };
      }
      const len = parseInt(hex, 16);
      if (len < 4) {
        if (len === 3) {
          this.buf = Buffer.alloc(0);
          return { lines, error: new GitProtocolError('BAD_PKT_LINE', 'pkt-line length 0003 is reserved') };
        }
        off += 4;
        const special = len as PktSpecial;
        lines.push(special === PktSpecial.Flush ? { kind: 'flush' } : special === PktSpecial.Delim ? { kind: 'delim' } : { kind: 'response-end' });
        if (special === PktSpecial.Flush && this.opts.stopAfterFlush) {
          this.stopped = true;
          break;
        }
        continue;
      }
      if (len > MAX_PKT_LINE) {
        this.buf = Buffer.alloc(0);
        return { lines, error: new GitProtocolError('TOO_LARGE', `pkt-line of ${len} bytes exceeds ${MAX_PKT_LINE}`) };
      }
      if (this.buf.length - off < len) break;
      lines.push({ kind: 'data', payload: this.buf.subarray(off + 4, off + len) });
      off += len;
    }
    this.buf = off === 0 ? this.buf : Buffer.from(this.buf.subarray(off));
    return { lines };
  }
}

/** Encodes one pkt-line (a string gets no newline added). */
export function pktLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length + 4 > MAX_PKT_LINE) throw new RangeError('pkt-line payload too long');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

export const FLUSH_PKT = Buffer.from('0000');
export const DELIM_PKT = Buffer.from('0001');

/** Payload as text without the trailing LF git adds to text lines. */
export function pktText(payload: Buffer): string {
  const s = payload.toString('utf8');
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}
