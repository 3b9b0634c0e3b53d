import { SpdyProtocolError } from './errors.js';

/** Control frame types of SPDY/3.1 (draft 3.1 §2.6). 5 (NOOP) is gone since v3. */
export const enum SpdyControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** FLAG_FIN on SYN_STREAM, SYN_REPLY, HEADERS and data frames: the sender's half of the stream ends. */
export const SPDY_FLAG_FIN = 0x01;

const HEADER_BYTES = 8;
const STREAM_ID_MASK = 0x7fffffff;

const CONTROL_NAMES: Record<number, string> = { 1: 'syn_stream', 2: 'syn_reply', 3: 'rst_stream', 4: 'settings', 6: 'ping', 7: 'goaway', 8: 'headers', 9: 'window_update' };

/** Exact payload length of fixed-size control frames, minimum for the others (draft 3.1 §2.6). */
const EXACT: Record<number, number> = { 3: 8, 6: 4, 7: 8, 9: 8 };
const MINIMUM: Record<number, number> = { 1: 10, 2: 4, 4: 4, 8: 4 };

export interface SpdyFrame {
  control: boolean;
  /** Control frame type (0 for a data frame; types SPDY/3.1 does not define pass as they are). */
  type: SpdyControlType | 0;
  /** `data`, `syn_stream`, …; `control-<n>` for a type SPDY/3.1 does not define (receivers ignore those). */
  typeName: string;
  flags: number;
  /** The stream the frame belongs to; 0 for SETTINGS, PING, GOAWAY (and WINDOW_UPDATE of the session). */
  streamId: number;
  /** The compressed name/value block of SYN_STREAM, SYN_REPLY and HEADERS. */
  headerBlock: Buffer | undefined;
  /** The frame exactly as on the wire. */
  raw: Buffer;
}

export const spdyFrameName = (f: Pick<SpdyFrame, 'control' | 'type'>): string => (f.control ? (CONTROL_NAMES[f.type] ?? `control-${f.type}`) : 'data');

/** Parses one complete frame (`raw` holds exactly the header and the payload). */
function parseFrame(raw: Buffer): SpdyFrame | SpdyProtocolError {
  const control = (raw[0]! & 0x80) !== 0;
  const flags = raw[4]!;
  const payload = raw.subarray(HEADER_BYTES);
  if (!control) {
    const streamId = raw.readUInt32BE(0) & STREAM_ID_MASK;
    if (streamId === 0) return new SpdyProtocolError('BAD_FRAME', 'data frame on stream 0');
    return { control, type: 0, typeName: 'data', flags, streamId, headerBlock: undefined, raw };
  }
  const version = raw.readUInt16BE(0) & 0x7fff;
  const type = raw.readUInt16BE(2) as SpdyControlType;
  if (version !== 3) return new SpdyProtocolError('BAD_FRAME', `control frame of SPDY version ${version}; only SPDY/3.1 is relayed`);
  const exact = EXACT[type];
  if (exact !== undefined && payload.length !== exact) return new SpdyProtocolError('BAD_FRAME', `${spdyFrameName({ control, type })} frame of ${payload.length} bytes (must be ${exact})`);
  const min = MINIMUM[type];
  if (min !== undefined && payload.length < min) return new SpdyProtocolError('BAD_FRAME', `${spdyFrameName({ control, type })} frame of ${payload.length} bytes (at least ${min})`);
  if (type === SpdyControlType.Settings && payload.length !== 4 + 8 * payload.readUInt32BE(0)) return new SpdyProtocolError('BAD_FRAME', 'SETTINGS frame length does not match its entry count');
  const hasStream = type === SpdyControlType.SynStream || type === SpdyControlType.SynReply || type === SpdyControlType.RstStream || type === SpdyControlType.Headers || type === SpdyControlType.WindowUpdate;
  const streamId = hasStream ? payload.readUInt32BE(0) & STREAM_ID_MASK : 0;
  if (hasStream && streamId === 0 && type !== SpdyControlType.WindowUpdate) return new SpdyProtocolError('BAD_FRAME', `${spdyFrameName({ control, type })} frame on stream 0`);
  const blockAt = type === SpdyControlType.SynStream ? 10 : type === SpdyControlType.SynReply || type === SpdyControlType.Headers ? 4 : -1;
  return { control, type, typeName: spdyFrameName({ control, type }), flags, streamId, headerBlock: blockAt < 0 ? undefined : payload.subarray(blockAt), raw };
}

/**
 * Incremental SPDY/3.1 frame splitter (draft 3.1 §2.2): emits whole frames, keeps the rest.
 * Every frame header is 8 bytes with a 24-bit length; a frame beyond `maxFrameBytes`, a control
 * frame of another version or with a length its type forbids is an error value, after which the
 * reader holds nothing.
 */
export class SpdyFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /**
   * @param maxFrameBytes the largest frame (data frames carry stdin/stdout; `kubectl cp` sends whole chunks).
   * @param maxControlBytes the largest control frame: header blocks are inflated, so their
   *   compressed size bounds the work a peer can cause. @default 64 KiB
   */
  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxControlBytes = 64 * 1024,
  ) {}

  get bufferedBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): { frames: SpdyFrame[]; error?: SpdyProtocolError } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: SpdyFrame[] = [];
    let off = 0;
    while (this.buf.length - off >= HEADER_BYTES) {
      const length = this.buf.readUInt32BE(off + 4) & 0xffffff;
      const max = (this.buf[off]! & 0x80) !== 0 ? this.maxControlBytes : this.maxFrameBytes;
      if (length + HEADER_BYTES > max) return this.fail(frames, new SpdyProtocolError('FRAME_TOO_LARGE', `SPDY ${max === this.maxFrameBytes ? 'data' : 'control'} frame of ${length} bytes exceeds the limit of ${max}`));
      if (this.buf.length - off < HEADER_BYTES + length) break;
      const f = parseFrame(this.buf.subarray(off, off + HEADER_BYTES + length));
      if (f instanceof SpdyProtocolError) return this.fail(frames, f);
      frames.push(f);
      off += HEADER_BYTES + length;
    }
    this.buf = off === 0 ? this.buf : this.buf.subarray(off);
    // Frames keep views of the chunk; the remainder is copied so it does not pin a large chunk.
    if (frames.length > 0 && this.buf.length > 0) this.buf = Buffer.from(this.buf);
    return { frames };
  }

  private fail(frames: SpdyFrame[], error: SpdyProtocolError): { frames: SpdyFrame[]; error: SpdyProtocolError } {
    this.buf = Buffer.alloc(0);
    return { frames, error };
  }
}
