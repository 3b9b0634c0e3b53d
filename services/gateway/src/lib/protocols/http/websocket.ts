import { HttpProtocolError } from './errors.js';

/** WebSocket opcodes (RFC 6455 §5.2). */
export const enum WsOpcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

const OPCODE_NAMES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

export interface WsFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payloadLength: number;
  /** The frame exactly as on the wire (header + possibly masked payload). */
  raw: Buffer;
}

export const wsOpcodeName = (op: number): string => OPCODE_NAMES[op] ?? `opcode-${op}`;

/**
 * Incremental WebSocket frame splitter (RFC 6455 §5.2): emits whole frames, keeps the rest.
 * The payload is not unmasked: a frame is recorded and forwarded byte for byte. A length beyond
 * `maxFrameBytes`, a 64-bit length with the top bit set, a reserved opcode or a fragmented or
 * oversized control frame is an error value.
 */
export class WsFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): { frames: WsFrame[]; error?: HttpProtocolError } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: WsFrame[] = [];
    let off = 0;
    for (;;) {
      const b = this.buf;
      if (b.length - off < 2) break;
      const b0 = b[off]!;
      const b1 = b[off + 1]!;
      const opcode = b0 & 0x0f;
      if (!(opcode in OPCODE_NAMES)) return this.fail(frames, `reserved WebSocket opcode ${opcode}`);
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        header = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        const hi = b.readUInt32BE(off + 2);
        if (hi & 0x80000000) return this.fail(frames, 'WebSocket frame length has the most significant bit set');
        len = hi * 2 ** 32 + b.readUInt32BE(off + 6);
        header = 10;
      }
      if (opcode >= 0x8 && (len > 125 || (b0 & 0x80) === 0)) return this.fail(frames, 'WebSocket control frame is fragmented or longer than 125 bytes');
      if (len > this.maxFrameBytes) return this.fail(frames, `WebSocket frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`);
      const total = header + (masked ? 4 : 0) + len;
      if (b.length - off < total) break;
      frames.push({ fin: (b0 & 0x80) !== 0, opcode, masked, payloadLength: len, raw: b.subarray(off, off + total) });
      off += total;
    }
    this.buf = off === 0 ? this.buf : this.buf.subarray(off);
    if (frames.length > 0 && this.buf.length > 0) this.buf = Buffer.from(this.buf);
    return { frames };
  }

  private fail(frames: WsFrame[], message: string): { frames: WsFrame[]; error: HttpProtocolError } {
    this.buf = Buffer.alloc(0);
    return { frames, error: new HttpProtocolError('BAD_FRAME', message) };
  }
}

/** Where a frame's payload starts in `raw` (after the header and the masking key). */
const payloadStart = (f: WsFrame): number => f.raw.length - f.payloadLength;

/** A frame's payload in clear: a client's XOR masking key (RFC 6455 §5.3) removed. */
export function wsPayload(f: WsFrame): Buffer {
  const p = f.raw.subarray(payloadStart(f));
  if (!f.masked) return p;
  const key = f.raw.subarray(payloadStart(f) - 4, payloadStart(f));
  const out = Buffer.allocUnsafe(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i]! ^ key[i & 3]!;
  return out;
}

/**
 * An unmasked frame (what a server sends, RFC 6455 §5.2): `first` is the first header byte
 * (FIN, RSV bits, opcode), the length in its shortest form.
 */
export function encodeWsFrame(first: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([first, n]) : n < 0x10000 ? Buffer.from([first, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 0x10000) {
    head[0] = first;
    head[1] = 127;
    head.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    head.writeUInt32BE(n >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}

/**
 * The frame as recorded: the same frame without the client's masking key. The key is transport
 * (it keeps proxies from reading a frame as HTTP), not content; stored masked, the payload
 * could not be read by SQL or replay.
 */
export const wsUnmaskedFrame = (f: WsFrame): Buffer => (f.masked ? encodeWsFrame(f.raw[0]!, wsPayload(f)) : f.raw);
