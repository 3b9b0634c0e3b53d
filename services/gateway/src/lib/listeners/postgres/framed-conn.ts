import type { Duplex } from 'node:stream';
import { MessageReader, PgProtocolError, type PgMessage } from '../../protocols/postgres/index.js';

/**
 * Turns a socket into a queue of whole PostgreSQL messages for the request/response phases
 * (handshake, upstream login) where code awaits one message at a time. The proxy phase
 * detaches and reads the socket directly for throughput.
 */
export class FramedConn {
  private queue: PgMessage[] = [];
  private waiter: { resolve: (m: PgMessage) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    const { messages, error } = this.reader.push(chunk);
    this.queue.push(...messages);
    if (error) this.failure = error;
    this.settle();
  };
  private readonly onEnd = () => {
    this.failure ??= new Error('connection closed by peer');
    this.settle();
  };
  private readonly onError = (err: Error) => {
    this.failure ??= err;
    this.settle();
  };

  constructor(
    private socket: Duplex,
    readonly reader: MessageReader,
  ) {
    this.attach(socket);
  }

  get stream(): Duplex {
    return this.socket;
  }

  /** Starts reading `socket` (e.g. the TLS socket layered over the raw one). */
  attach(socket: Duplex): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.resume();
  }

  /** Stops reading; returns messages already framed but not yet taken. */
  detach(): PgMessage[] {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.queue;
    this.queue = [];
    return rest;
  }

  /** The next whole message; rejects on protocol errors, close, or after `timeoutMs`. */
  next(timeoutMs: number, what: string): Promise<PgMessage> {
    const ready = this.queue.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new PgProtocolError('UNEXPECTED_MESSAGE', `timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiter = {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    const m = this.queue.shift();
    if (m) {
      this.waiter = undefined;
      w.resolve(m);
    } else if (this.failure) {
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }
}
