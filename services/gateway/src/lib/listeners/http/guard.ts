import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpProtocolError, RequestFramer, type FramerLimits } from '../../protocols/http/index.js';

/** What the guard needs from the listener. */
export interface GuardHooks {
  /** Serves one request (the listener's handler); resolves when its exchange is over. */
  handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void>;
  /** Answers a request whose head the framer refused (nothing of it reached Node's parser) and closes. */
  refuse(socket: Duplex, err: HttpProtocolError): void;
  /** A request head that did not complete in time. */
  headTimeoutMs: number;
}

type Socket = Duplex & { parser?: unknown; destroyed: boolean };
type Queued = { req: IncomingMessage; res: ServerResponse; expectContinue: boolean } | { refusal: HttpProtocolError };

const GUARD = Symbol('chaperone.httpConnectionGuard');
/**
 * How long a refused connection keeps reading (and discarding) what the agent still sends after
 * the refusal's FIN before it is destroyed (a lingering close, as nginx's lingering_close).
 */
export const LINGER_MS = 2_000;
/** Requests whose body the framer refused part-way (their 'error' event carries the same error). */
const refusedBodies = new WeakMap<IncomingMessage, HttpProtocolError>();

/** The framing error of this request's body, when the connection's framer refused it. */
export function bodyFramingError(req: IncomingMessage): HttpProtocolError | undefined {
  return refusedBodies.get(req);
}

/** The guard of an HTTP/1.1 connection, undefined for HTTP/2 streams. */
export function guardOf(socket: unknown): ConnectionGuard | undefined {
  return (socket as { [GUARD]?: ConnectionGuard } | null)?.[GUARD];
}

/**
 * One HTTP/1.1 connection's request state, which cannot outlive a refusal:
 *
 * - every byte the agent sends passes the gateway's own framer (protocols/http/framer.ts)
 *   before Node's parser sees it; the parser gets only accepted bytes, so a framing the gateway
 *   refuses never delimits a next request;
 * - requests are served one at a time, in order: a pipelined request starts only when the one
 *   before it is over, and not at all if that one was refused;
 * - after a refusal (a framing error, or any answer the gateway gives in place of the
 *   upstream's) no further byte is parsed, no further request is recorded or forwarded, and the
 *   connection closes once the refusal is written.
 */
export class ConnectionGuard {
  private readonly framer: RequestFramer;
  /** Node's own `data` listener of this socket: it runs the HTTP parser. */
  private readonly parse: (chunk: Buffer) => void;
  /** No further byte goes to the parser. */
  private stopped = false;
  /** A refusal was sent: queued and later requests are dropped. */
  private refused = false;
  private busy = false;
  /** Set by endWhenIdle: the connection ends at the first moment no request is in progress. */
  private ending = false;
  private readonly queue: Queued[] = [];
  private headTimer: NodeJS.Timeout | undefined;
  /** The framing error that ended the connection, for the parser error it provokes. */
  violation: HttpProtocolError | undefined;
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  private readonly onDone = (): void => this.done();

  private constructor(
    private readonly socket: Socket,
    parse: (chunk: Buffer) => void,
    limits: FramerLimits,
    private readonly hooks: GuardHooks,
  ) {
    this.framer = new RequestFramer(limits);
    this.parse = parse;
  }

  /**
   * Puts a guard between a socket and the HTTP/1.1 parser Node just attached to it (called from
   * the server's `connection`/`secureConnection` event, after Node's own listener). Node's
   * socket wrapper switches the parser from reading the socket natively to our `data` events.
   */
  static attach(socket: Duplex, limits: FramerLimits, hooks: GuardHooks): void {
    const s = socket as Socket;
    if (!s.parser) return; // an HTTP/2 session's socket: nghttp2 frames its requests
    const listeners = s.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) {
      s.destroy(new Error('unexpected data listeners on an HTTP/1.1 socket'));
      return;
    }
    const guard = new ConnectionGuard(s, listeners[0]!, limits, hooks);
    (s as unknown as { [GUARD]: ConnectionGuard })[GUARD] = guard;
    s.removeListener('data', listeners[0]!);
    s.on('data', guard.onData);
    s.once('close', () => guard.clearHeadTimer());
  }

  private data(chunk: Buffer): void {
    if (this.stopped) return;
    const r = this.framer.feed(chunk);
    if (r.error) return this.violate(r.pass, r.error, r.inBody === true);
    if (r.pass.length > 0 || r.tunnel) this.parse(r.pass);
    if (!this.socket.parser) {
      // Node took the socket for an upgrade: the rest is the tunnel's (upgrade.ts records it).
      this.socket.removeListener('data', this.onData);
      this.clearHeadTimer();
      // The framer and the parser must agree on which request was the upgrade.
      if (!r.tunnel) this.socket.destroy();
      return;
    }
    if (r.tunnel) return void this.socket.destroy(); // the parser did not take the upgrade: fail closed
    if (this.framer.inHead) this.headTimer ??= setTimeout(() => this.headTimeout(), this.hooks.headTimeoutMs).unref();
    else this.clearHeadTimer();
  }

  private violate(pass: Buffer, err: HttpProtocolError, inBody: boolean): void {
    this.violation = err;
    this.stopped = true;
    this.clearHeadTimer();
    if (inBody) {
      // Inside a chunked body: the parser gets the body up to the bad chunk line and nothing
      // more, so the request never completes; its exchange (running, or queued behind earlier
      // ones) reads the error instead of an end and refuses it in order, which closes.
      if (pass.length > 0) this.parse(pass);
      const req = (this.socket.parser as { incoming?: IncomingMessage } | undefined)?.incoming;
      if (!req) return void this.socket.destroy();
      refusedBodies.set(req, err);
      if (req.listenerCount('error') > 0) req.emit('error', err);
      return;
    }
    // At a request boundary: the requests before it are served, then the refusal is answered.
    if (pass.length > 0) this.parse(pass);
    this.queue.push({ refusal: err });
    if (!this.busy) this.done();
  }

  private headTimeout(): void {
    this.headTimer = undefined;
    if (!this.framer.inHead || this.stopped) return;
    this.violate(EMPTY, new HttpProtocolError('HEAD_TIMEOUT', `the request head did not arrive within ${this.hooks.headTimeoutMs} ms`), false);
  }

  private clearHeadTimer(): void {
    if (this.headTimer) clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }

  /** Serves a request in order, or drops it when a refusal came before it. */
  run(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    if (this.refused) return;
    if (this.busy) {
      this.queue.push({ req, res, expectContinue });
      return;
    }
    this.busy = true;
    this.hooks.handle(req, res, expectContinue).then(this.onDone, this.onDone);
  }

  /** A refusal was (or is being) sent on this connection: nothing after it is parsed or served. */
  markRefused(): void {
    this.refused = true;
    this.stopped = true;
    this.queue.length = 0;
    this.clearHeadTimer();
    this.lingerOnClose();
  }

  /**
   * Closing right after the refusal while the agent is still sending (the rest of a refused
   * body) would reset the connection (RST), and a proxy in front (haproxy) may then drop the
   * refusal it had not passed on yet. So the close sends FIN after the answer and keeps reading,
   * discarding (the guard is stopped), until the agent closes too or LINGER_MS pass.
   */
  private lingerOnClose(): void {
    const s = this.socket as Socket & { destroySoon?: () => void; end(): void; writable: boolean; writableFinished: boolean };
    if (typeof s.destroySoon !== 'function') return;
    s.destroySoon = () => {
      if (s.writable) s.end();
      const destroy = () => {
        clearTimeout(timer);
        s.destroy();
      };
      const timer = setTimeout(destroy, LINGER_MS).unref();
      s.once('end', destroy);
      s.once('close', () => clearTimeout(timer));
      s.resume();
    };
  }

  /**
   * Ends the connection (close_notify and FIN after the last response) at the first moment no
   * request is in progress, queued or half-received: a keep-alive connection whose token expired.
   * A request already under way is answered first.
   */
  endWhenIdle(): void {
    this.ending = true;
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (!this.ending || this.busy || this.queue.length > 0 || this.framer.inHead || this.socket.destroyed) return;
    this.stopped = true;
    this.clearHeadTimer();
    this.socket.end();
  }

  /** Resolves once no request of this connection is in progress (upgrades wait for it). */
  async idle(): Promise<boolean> {
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    return !this.refused && !this.socket.destroyed;
  }

  private done(): void {
    this.busy = false;
    const next = this.queue.shift();
    if (!next || this.refused) return this.endIfIdle();
    if ('refusal' in next) {
      this.markRefused();
      if (!this.socket.destroyed) this.hooks.refuse(this.socket, next.refusal);
      return;
    }
    this.busy = true;
    this.hooks.handle(next.req, next.res, next.expectContinue).then(this.onDone, this.onDone);
  }
}

const EMPTY = Buffer.alloc(0);
