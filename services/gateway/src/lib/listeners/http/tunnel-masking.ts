import type { MaskNote } from '@chaperone/events';
import { HttpProtocolError, encodeWsFrame, wsOpcodeName, wsPayload, type WsFrame } from '../../protocols/http/index.js';
import { SPDY_FLAG_FIN } from '../../protocols/spdy/index.js';
import { StreamMasker, type Masker } from '../../masking/index.js';
import type { TunnelUnit } from './spdy.js';

/** WebSocket opcodes (RFC 6455 §5.2): a continuation, and the first control frame. */
const WS_CONTINUATION = 0x0;
const WS_CLOSE = 0x8;

/**
 * The Kubernetes remote command channels, by number (the first payload byte of a WebSocket
 * message, k8s.io/apimachinery/pkg/util/remotecommand); SPDY names them in each stream's headers.
 */
const CHANNELS = ['stdin', 'stdout', 'stderr', 'error', 'resize'];
/** What the command prints (stdout, stderr) and the final Status (error): masked before it is recorded and relayed. */
const OUTPUT = new Set(['stdout', 'stderr', 'error']);

export const channelName = (n: number): string => CHANNELS[n] ?? (n === 255 ? 'close' : `channel-${n}`);

/**
 * How the WebSocket subprotocol the upstream chose carries channels: `v4.channel.k8s.io`,
 * `v5.channel.k8s.io` (binary: the channel in the first byte), `base64.channel.k8s.io` and
 * `v4.base64.channel.k8s.io` (text: an ASCII digit, then base64). undefined: not a channel protocol.
 */
export function wsChannelEncoding(subprotocol: string | undefined): 'binary' | 'base64' | undefined {
  const p = (subprotocol ?? '').trim().toLowerCase();
  if (!p.endsWith('channel.k8s.io')) return undefined;
  return p.includes('base64.') ? 'base64' : 'binary';
}

/** A SPDY/3.1 data frame (draft 3.1 §2.2.2). */
function spdyData(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([head, data]);
}

interface Channel {
  masker: StreamMasker;
  type: string;
  /** The bytes to send for masked output (a frame), `fin` on the last. */
  frame(out: Buffer, fin: boolean): Buffer;
}

interface Masked {
  out: Buffer;
  notes: MaskNote[];
}

const join = (a: Masked, b: Masked): Masked => (b.out.length === 0 && b.notes.length === 0 ? a : { out: Buffer.concat([a.out, b.out]), notes: [...a.notes, ...b.notes] });

/**
 * Masks what a `kubectl exec`/`attach` prints, on every output channel, before it is recorded
 * and relayed; and names each WebSocket frame's channel. Each output channel is one stream to
 * the masker (StreamMasker), so a secret split across frames is still found: bytes near a
 * frame's end are held back until more output, the channel's end, the final Status, or
 * `flush()` (the tunnel calls it once the upstream went quiet, so an interactive session is not
 * kept waiting). A WebSocket message split in fragments is relayed whole, as one frame; masked
 * output changes frame lengths, so frames are rebuilt. Client frames are relayed as they came
 * and recorded without their XOR key.
 */
export class TunnelMasker {
  private readonly channels = new Map<string, Channel>();
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;
  private clientChannel: string | undefined;

  constructor(
    private readonly masker: Masker,
    private readonly ws: 'binary' | 'base64' | undefined,
    private readonly maxMessageBytes: number,
  ) {}

  /** Whether output is held back (the caller flushes it when the upstream goes quiet). */
  get holding(): boolean {
    for (const c of this.channels.values()) if (c.masker.buffered > 0) return true;
    return false;
  }

  /** Client units: WebSocket frames recorded without their XOR key, named by channel. */
  client(units: TunnelUnit[]): TunnelUnit[] {
    for (const u of units) {
      const f = u.ws;
      if (!f) continue;
      const payload = wsPayload(f);
      if (f.masked) u.recorded = encodeWsFrame(f.raw[0]!, payload);
      if (!this.ws || f.opcode >= WS_CLOSE) continue;
      if (f.opcode !== WS_CONTINUATION && payload.length > 0) this.clientChannel = channelName(this.ws === 'base64' ? payload[0]! - 0x30 : payload[0]!);
      if (this.clientChannel) u.type = `${u.type};channel=${this.clientChannel}`;
    }
    return units;
  }

  /** Upstream units: output masked, frames rebuilt; an over-long fragmented message is an error. */
  server(units: TunnelUnit[]): TunnelUnit[] | HttpProtocolError {
    const out: TunnelUnit[] = [];
    for (const u of units) {
      if (u.ws) {
        const e = this.wsServer(u, u.ws, out);
        if (e) return e;
      } else if (u.spdy) this.spdyServer(u, out);
      else out.push(u);
    }
    return out;
  }

  /** Everything held back, as frames. */
  flush(except?: string): TunnelUnit[] {
    const out: TunnelUnit[] = [];
    for (const [key, c] of this.channels) {
      if (key === except || c.masker.buffered === 0) continue;
      const r = c.masker.flush();
      if (r.out.length > 0) out.push({ bytes: c.frame(r.out, false), type: c.type, masks: r.notes });
    }
    return out;
  }

  private wsServer(u: TunnelUnit, f: WsFrame, out: TunnelUnit[]): HttpProtocolError | undefined {
    if (f.opcode >= WS_CLOSE) {
      if (f.opcode === WS_CLOSE) out.push(...this.flush());
      out.push(u);
      return;
    }
    if (!this.ws) return void out.push(u);
    if (f.opcode !== WS_CONTINUATION) this.fragmentOpcode = f.opcode;
    this.fragments.push(wsPayload(f));
    this.fragmentBytes += f.payloadLength;
    if (this.fragmentBytes > this.maxMessageBytes) return new HttpProtocolError('BAD_FRAME', `WebSocket message of more than ${this.maxMessageBytes} bytes`);
    if (!f.fin) return;
    const message = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    const opcode = this.fragmentOpcode;
    this.fragments = [];
    this.fragmentBytes = 0;
    if (message.length === 0) return void out.push(u);
    const n = this.ws === 'base64' ? message[0]! - 0x30 : message[0]!;
    const name = channelName(n);
    const type = `ws.frame.${wsOpcodeName(opcode)};channel=${name}`;
    if (!OUTPUT.has(name)) return void out.push({ ...u, bytes: encodeWsFrame(0x80 | opcode, message), type });
    const data = this.ws === 'base64' ? Buffer.from(message.subarray(1).toString('latin1'), 'base64') : message.subarray(1);
    const c = this.channel(`ws:${name}`, type, (bytes) => {
      const body = this.ws === 'base64' ? Buffer.from(bytes.toString('base64'), 'latin1') : bytes;
      return encodeWsFrame(0x80 | opcode, Buffer.concat([Buffer.from([this.ws === 'base64' ? 0x30 + n : n]), body]));
    });
    this.emit(u, c, `ws:${name}`, data, name === 'error', false, out);
  }

  private spdyServer(u: TunnelUnit, out: TunnelUnit[]): void {
    const { frame, channel } = u.spdy!;
    if (frame.control) {
      out.push(...this.flush(), u);
      return;
    }
    if (!channel || !OUTPUT.has(channel)) return void out.push(u);
    const key = `spdy:${frame.streamId}`;
    const fin = (frame.flags & SPDY_FLAG_FIN) !== 0;
    const c = this.channel(key, u.type, (bytes, last) => spdyData(frame.streamId, last ? SPDY_FLAG_FIN : 0, bytes));
    this.emit(u, c, key, frame.raw.subarray(8), channel === 'error', fin, out);
  }

  /** One frame's output through its channel's masker; the final Status or a channel's end first flushes what is held. */
  private emit(u: TunnelUnit, c: Channel, key: string, data: Buffer, status: boolean, fin: boolean, out: TunnelUnit[]): void {
    if (status) out.push(...this.flush(key));
    let r: Masked = c.masker.push(data);
    if (fin) {
      r = join(r, c.masker.end());
      this.channels.delete(key);
    } else if (status) r = join(r, c.masker.flush());
    if (r.out.length > 0 || fin) out.push({ ...u, bytes: c.frame(r.out, fin), type: c.type, masks: r.notes });
  }

  private channel(key: string, type: string, frame: Channel['frame']): Channel {
    let c = this.channels.get(key);
    if (!c) this.channels.set(key, (c = { masker: new StreamMasker(this.masker), type, frame }));
    return c;
  }
}
