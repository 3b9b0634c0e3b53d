import { SpdyProtocolError } from './errors.js';
import { SPDY_FLAG_FIN, SpdyControlType, type SpdyFrame } from './frame.js';
import type { SpdyHeaders } from './header-block.js';

/** Which end sent a frame: the one that upgraded the connection, or the upstream. */
export type SpdySide = 'client' | 'server';

interface OpenStream {
  channel: string | undefined;
  /** Each side's half ends with FIN (or at once for the receiver of a unidirectional stream). */
  clientDone: boolean;
  serverDone: boolean;
}

/** FLAG_UNIDIRECTIONAL on SYN_STREAM: the receiver never sends on the stream. */
const FLAG_UNIDIRECTIONAL = 0x02;

// A channel name goes into the recorded message type: keep it a short token.
const CHANNEL = /^[a-z0-9._-]{1,32}$/;

/**
 * The open streams of one SPDY connection and what each carries. Kubernetes' remote command
 * and port-forward protocols name a stream by the `streamtype` header of its SYN_STREAM
 * (error, stdin, stdout, stderr, resize; data/error for port-forward), so every later frame of
 * the stream can be recorded with that name. Bounded: a stream leaves the table when both
 * halves ended or it was reset, and more than `maxOpen` open streams is an error.
 */
export class SpdyStreamTable {
  private readonly open = new Map<number, OpenStream>();

  constructor(private readonly maxOpen: number) {}

  get size(): number {
    return this.open.size;
  }

  /** Accounts for a frame (its header block decoded when it has one); returns the stream's channel. */
  observe(side: SpdySide, f: SpdyFrame, headers: SpdyHeaders | undefined): { channel: string | undefined } | SpdyProtocolError {
    if (f.control && f.type === SpdyControlType.SynStream) {
      if (this.open.has(f.streamId)) return new SpdyProtocolError('BAD_STREAM', `stream ${f.streamId} opened twice`);
      if (this.open.size >= this.maxOpen) return new SpdyProtocolError('BAD_STREAM', `more than ${this.maxOpen} open SPDY streams`);
      const type = headers?.find(([n]) => n === 'streamtype')?.[1][0];
      const s: OpenStream = { channel: type !== undefined && CHANNEL.test(type) ? type : undefined, clientDone: false, serverDone: false };
      if ((f.flags & FLAG_UNIDIRECTIONAL) !== 0) s[side === 'client' ? 'serverDone' : 'clientDone'] = true;
      this.open.set(f.streamId, s);
    }
    const s = f.streamId === 0 ? undefined : this.open.get(f.streamId);
    if (!s) return { channel: undefined };
    const channel = s.channel;
    if (f.control && f.type === SpdyControlType.RstStream) this.open.delete(f.streamId);
    else if ((!f.control || f.type === SpdyControlType.SynStream || f.type === SpdyControlType.SynReply || f.type === SpdyControlType.Headers) && (f.flags & SPDY_FLAG_FIN) !== 0) {
      s[side === 'client' ? 'clientDone' : 'serverDone'] = true;
      if (s.clientDone && s.serverDone) this.open.delete(f.streamId);
    }
    return { channel };
  }
}

/** The recorded message type of a frame: `spdy.frame.<type>[;stream=<id>][;channel=<name>]`. */
export function spdyMessageType(f: SpdyFrame, channel: string | undefined): string {
  return `spdy.frame.${f.typeName}${f.streamId !== 0 ? `;stream=${f.streamId}` : ''}${channel ? `;channel=${channel}` : ''}`;
}
