import type { Direction, MaskNote } from '@chaperone/events';
import type { WsFrame } from '../../protocols/http/index.js';
import { SpdyFrameReader, SpdyHeaderDecoder, SpdyProtocolError, SpdyStreamTable, spdyMessageType, type SpdyFrame, type SpdyHeaders } from '../../protocols/spdy/index.js';

/** A recordable piece of a tunnel: bytes exactly as forwarded, and their message type. */
export interface TunnelUnit {
  bytes: Buffer;
  type: string;
  /** What is recorded, when it differs from what is forwarded (a client's WebSocket frame without its XOR key). */
  recorded?: Buffer;
  /** Which detector masked what in this unit's payload. */
  masks?: MaskNote[];
  /** The SPDY frame, and the channel of its stream. */
  spdy?: { frame: SpdyFrame; channel: string | undefined };
  /** The WebSocket frame. */
  ws?: WsFrame;
}

export interface SpdyTunnelLimits {
  /** Largest data frame (stdin/stdout chunks). */
  maxFrameBytes: number;
  /** Most streams open at once (exec uses up to 5; port-forward 2 per forwarded connection). @default 1024 */
  maxOpenStreams?: number;
}

/**
 * Splits both directions of a SPDY/3.1 tunnel (`Upgrade: SPDY/3.1`, what kubectl exec and
 * port-forward fall back to without WebSocket) into frames to record, each named
 * `spdy.frame.<type>;stream=<id>;channel=<stdout|stdin|…>`. Header blocks are inflated (one
 * zlib context per direction) to learn each stream's channel. Memory is bounded by the frame
 * limits, the per-block inflate limit and the stream table; any malformed input is an error
 * value and the caller ends the tunnel.
 *
 * Calls for one direction must not overlap (the caller awaits each chunk); the directions are
 * independent, except that a stream's channel is known once its SYN_STREAM was split.
 */
export class SpdyTunnelSplitter {
  private readonly readers: Record<Direction, SpdyFrameReader>;
  private readonly decoders: Record<Direction, SpdyHeaderDecoder> = { CLIENT_TO_SERVER: new SpdyHeaderDecoder(), SERVER_TO_CLIENT: new SpdyHeaderDecoder() };
  private readonly streams: SpdyStreamTable;

  constructor(limits: SpdyTunnelLimits) {
    this.readers = { CLIENT_TO_SERVER: new SpdyFrameReader(limits.maxFrameBytes), SERVER_TO_CLIENT: new SpdyFrameReader(limits.maxFrameBytes) };
    this.streams = new SpdyStreamTable(limits.maxOpenStreams ?? 1024);
  }

  async split(dir: Direction, chunk: Buffer): Promise<TunnelUnit[] | SpdyProtocolError> {
    const r = this.readers[dir].push(chunk);
    const units: TunnelUnit[] = [];
    for (const f of r.frames) {
      let headers: SpdyHeaders | undefined;
      if (f.headerBlock) {
        const h = await this.decoders[dir].decode(f.headerBlock);
        if (h instanceof SpdyProtocolError) return h;
        headers = h;
      }
      const s = this.streams.observe(dir === 'CLIENT_TO_SERVER' ? 'client' : 'server', f, headers);
      if (s instanceof SpdyProtocolError) return s;
      units.push({ bytes: f.raw, type: spdyMessageType(f, s.channel), spdy: { frame: f, channel: s.channel } });
    }
    // Frames before a malformed one were whole and valid, but the tunnel ends: nothing more is relayed.
    return r.error ?? units;
  }

  close(): void {
    this.decoders.CLIENT_TO_SERVER.close();
    this.decoders.SERVER_TO_CLIENT.close();
  }
}
