/**
 * Incremental framing of a PostgreSQL protocol byte stream into whole messages.
 *
 * Frames are `[type:1][length:4][body]` where length counts itself but not the type byte;
 * startup-phase packets have no type byte: `[length:4][body]`.
 * @see https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS
 */
import { StartupCode } from './codes.js';
import { PgProtocolError } from './errors.js';

export interface PgMessage {
  /** Type byte; 0 for untyped startup-phase packets. */
  code: number;
  /** The whole message including its header, a zero-copy slice of the pushed chunk when possible. */
  frame: Buffer;
  /** The body after the length field. */
  payload: Buffer;
}

export type ReadResult = { messages: PgMessage[]; error?: PgProtocolError };

export interface MessageReaderOptions {
  /** Largest accepted typed frame, header included. */
  maxMessageBytes: number;
  /**
   * Largest accepted startup-phase packet. PostgreSQL itself refuses startup packets over
   * 10000 bytes (MAX_STARTUP_PACKET_LENGTH in src/include/libpq/pqcomm.h).
   * @default 10000
   */
  maxStartupBytes?: number;
  /**
   * The first message is an untyped startup-phase packet (true for the client side).
   * @default false
   */
  startup?: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Below this a partial frame buffer is sized to the whole frame at once; above, it grows. */
const EAGER_ALLOC_BYTES = 16 * 1024;

export class MessageReader {
  private readonly maxMessageBytes: number;
  private readonly maxStartupBytes: number;
  private startup: boolean;
  private failure: PgProtocolError | undefined;
  /** Bytes of the incomplete frame at the end of the stream (only ever one frame). */
  private acc: Buffer = EMPTY;
  private accLen = 0;
  /** Total length of the incomplete frame once its header has arrived, else -1. */
  private frameLen = -1;
  /** An SSLRequest/GSSENCRequest ended the previous frame: the client must now wait for our answer. */
  private awaitingAnswer = false;

  constructor(opts: MessageReaderOptions) {
    this.maxMessageBytes = checkLimit('maxMessageBytes', opts.maxMessageBytes, 5);
    this.maxStartupBytes = checkLimit('maxStartupBytes', opts.maxStartupBytes ?? 10000, 8);
    this.startup = opts.startup ?? false;
  }

  /** Bytes held for a message that has not fully arrived yet. */
  get bufferedBytes(): number {
    return this.accLen;
  }

  /**
   * The next message is an untyped startup-phase packet again. The reader already does this
   * by itself after an SSLRequest or GSSENCRequest; calling it again is harmless.
   */
  expectStartup(): void {
    if (this.accLen > 0) throw new Error('expectStartup() with a partial message buffered');
    this.startup = true;
  }

  /**
   * Feeds the next chunk of the stream. The reader takes ownership of `chunk`: emitted frames
   * may be slices of it. Returns every message completed by this chunk; on a protocol error,
   * returns the messages before it plus the error, and every later push returns that error.
   *
   * An SSLRequest/GSSENCRequest must be the last bytes of its chunk (the client has to wait
   * for the answer), so answer it before pushing more data from that socket.
   */
  push(chunk: Buffer): ReadResult {
    if (this.failure) return { messages: [], error: this.failure };
    const messages: PgMessage[] = [];
    try {
      this.awaitingAnswer = false;
      let offset = this.accLen > 0 ? this.completePartial(chunk, messages) : 0;
      while (offset < chunk.length) {
        if (this.awaitingAnswer) throw injectedAfterRequest();
        offset = this.readFrame(chunk, offset, messages);
      }
    } catch (err) {
      if (!(err instanceof PgProtocolError)) throw err;
      this.failure = err;
      this.acc = EMPTY;
      this.accLen = 0;
      return { messages, error: err };
    }
    return { messages };
  }

  /** Reads one frame starting at `offset`, or keeps the incomplete rest; returns the new offset. */
  private readFrame(chunk: Buffer, offset: number, out: PgMessage[]): number {
    const available = chunk.length - offset;
    if (available < this.headerBytes()) {
      this.keep(chunk.subarray(offset));
      return chunk.length;
    }
    const total = this.frameLength(chunk, offset);
    if (available < total) {
      this.frameLen = total;
      this.keep(chunk.subarray(offset));
      return chunk.length;
    }
    out.push(this.emit(chunk.subarray(offset, offset + total)));
    return offset + total;
  }

  /** Adds bytes from `chunk` to the buffered partial frame; returns how many were consumed. */
  private completePartial(chunk: Buffer, out: PgMessage[]): number {
    let used = 0;
    if (this.frameLen < 0) {
      used = Math.min(this.headerBytes() - this.accLen, chunk.length);
      this.keep(chunk.subarray(0, used));
      if (this.accLen < this.headerBytes()) return used;
      this.frameLen = this.frameLength(this.acc, 0);
    }
    const take = Math.min(this.frameLen - this.accLen, chunk.length - used);
    this.keep(chunk.subarray(used, used + take));
    used += take;
    if (this.accLen < this.frameLen) return used;
    const frame = this.acc.subarray(0, this.frameLen);
    this.acc = EMPTY; // the emitted frame now owns that memory
    this.accLen = 0;
    this.frameLen = -1;
    out.push(this.emit(frame));
    return used;
  }

  /** Copies bytes into the partial-frame buffer, growing it geometrically up to the frame size. */
  private keep(bytes: Buffer): void {
    const need = this.accLen + bytes.length;
    if (need > this.acc.length) {
      // Grow with what actually arrived, never with what the header claims, so a peer that
      // announces a large frame and then stalls holds only the bytes it really sent.
      let size = Math.max(need, this.acc.length * 2, Math.min(this.frameLen, EAGER_ALLOC_BYTES), 64);
      if (this.frameLen > 0) size = Math.min(size, this.frameLen);
      const next = Buffer.allocUnsafe(size);
      this.acc.copy(next, 0, 0, this.accLen);
      this.acc = next;
    }
    bytes.copy(this.acc, this.accLen);
    this.accLen = need;
  }

  private headerBytes(): number {
    return this.startup ? 4 : 5;
  }

  /** Validates the length field at `offset` and returns the whole frame size. */
  private frameLength(buf: Buffer, offset: number): number {
    if (this.startup) {
      const len = buf.readInt32BE(offset);
      if (len < 4) throw new PgProtocolError('BAD_LENGTH', `startup packet length ${len} < 4`);
      if (len < 8) throw new PgProtocolError('BAD_STARTUP', `startup packet length ${len} < 8`);
      if (len > this.maxStartupBytes) throw tooLarge('startup packet', len, this.maxStartupBytes);
      return len;
    }
    const len = buf.readInt32BE(offset + 1);
    if (len < 4) throw new PgProtocolError('BAD_LENGTH', `message length ${len} < 4`);
    if (len + 1 > this.maxMessageBytes) throw tooLarge('message', len + 1, this.maxMessageBytes);
    return len + 1;
  }

  private emit(frame: Buffer): PgMessage {
    if (!this.startup) return { code: frame[0] ?? 0, frame, payload: frame.subarray(5) };
    const payload = frame.subarray(4);
    const request = payload.readInt32BE(0);
    // After SSLRequest/GSSENCRequest the client sends another untyped packet: a StartupMessage
    // in plain text if refused, or inside the new TLS/GSS stream if accepted.
    this.startup = request === StartupCode.SSLRequest || request === StartupCode.GSSENCRequest;
    this.awaitingAnswer = this.startup;
    return { code: 0, frame, payload };
  }
}

/**
 * Bytes sent after SSLRequest/GSSENCRequest but before the one-byte answer were written in
 * plain text yet would be read as if they came through the encrypted channel (CVE-2021-23214).
 */
function injectedAfterRequest(): PgProtocolError {
  return new PgProtocolError('UNEXPECTED_MESSAGE', 'data received after an encryption request before it was answered');
}

function tooLarge(what: string, size: number, max: number): PgProtocolError {
  return new PgProtocolError('MESSAGE_TOO_LARGE', `${what} of ${size} bytes exceeds the limit of ${max}`);
}

function checkLimit(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > 0x7fffffff) {
    throw new RangeError(`${name} must be an integer in [${min}, 2^31-1], got ${value}`);
  }
  return value;
}
