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
