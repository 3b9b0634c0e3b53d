/**
 * Frame builders for the SPDY tests (draft 3.1 §2.2, §2.6): what a SPDY/3.1 peer puts on the
 * wire. Header blocks are compressed with a real zlib context and the SPDY/3 dictionary.
 */
import { SpdyControlType } from './frame.js';
import { SpdyHeaderEncoder, type SpdyHeaders } from './header-block.js';

function frame(head0: number, flags: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(head0 >>> 0, 0);
  b.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([b, payload]);
}

const u32 = (...ns: number[]): Buffer => {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i));
  return b;
};

export function controlFrame(type: number, flags: number, payload: Buffer, version = 3): Buffer {
  return frame(((0x8000 | version) << 16) | type, flags, payload);
}

export function dataFrame(streamId: number, flags: number, data: Buffer | string): Buffer {
  return frame(streamId & 0x7fffffff, flags, Buffer.from(data));
}

/** One direction of a SPDY connection: frames with header blocks share its zlib context. */
export class SpdyWriter {
  private readonly headers = new SpdyHeaderEncoder();

  async synStream(streamId: number, headers: SpdyHeaders, flags = 0): Promise<Buffer> {
    return controlFrame(SpdyControlType.SynStream, flags, Buffer.concat([u32(streamId, 0), Buffer.from([0, 0]), await this.headers.encode(headers)]));
  }

  async synReply(streamId: number, headers: SpdyHeaders = [], flags = 0): Promise<Buffer> {
    return controlFrame(SpdyControlType.SynReply, flags, Buffer.concat([u32(streamId), await this.headers.encode(headers)]));
  }

  rstStream(streamId: number, status = 5): Buffer {
    return controlFrame(SpdyControlType.RstStream, 0, u32(streamId, status));
  }

  settings(entries: [id: number, value: number][]): Buffer {
    return controlFrame(SpdyControlType.Settings, 0, Buffer.concat([u32(entries.length), ...entries.map(([id, v]) => u32(id & 0xffffff, v))]));
  }

  ping(id: number): Buffer {
    return controlFrame(SpdyControlType.Ping, 0, u32(id));
  }

  goAway(lastGood: number, status = 0): Buffer {
    return controlFrame(SpdyControlType.GoAway, 0, u32(lastGood, status));
  }

  windowUpdate(streamId: number, delta: number): Buffer {
    return controlFrame(SpdyControlType.WindowUpdate, 0, u32(streamId, delta));
  }

  close(): void {
    this.headers.close();
  }
}
