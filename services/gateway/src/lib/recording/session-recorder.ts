import { EventEmitter } from 'node:events';
import type { ChainedEvent, EventBody, SessionChain } from '@chaperone/events';
import { RecordingError } from '../errors.js';
import type { EventSink } from './sink.js';
import { errorMessage } from '@chaperone/observability';

export interface RecorderOptions {
  /** Longest wait for the event log to acknowledge a batch before the session must end. */
  ackTimeoutMs: number;
  /** Largest batch sent in one publish (Kafka's default message.max.bytes is ~1 MB). @default 768KiB */
  maxBatchBytes?: number;
  /**
   * How long events nobody waits for yet (results flowing to the client) may wait before they
   * are published, so they ride along with the next command's publish instead of costing a
   * round trip of their own. `flush()` publishes at once. @default 5
   */
  lingerMs?: number;
  /** Publishes of this session in flight at once; the sink keeps them in order. @default 4 */
  maxInFlight?: number;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface InFlight {
  lastSeq: number;
  bytes: number;
  done: boolean;
  /** When the event log must have acknowledged it (ms, performance.now()). */
  deadline: number;
}

/**
 * Records one session: chains events in the order they are appended and publishes them in
 * batches. Callers forward a client command only after `flush()` resolves — every event up to
 * that point acknowledged, with no gap (record-before-forward) — and pause upstream reads while
 * `unackedBytes` is over their limit ('drain' fires when it falls).
 *
 * Publishing is pipelined: several batches of a session may be in flight, and the sink keeps
 * them in order (one partition per session, one produce request at a time per producer). Events
 * that nobody waits for linger up to `lingerMs` so that a result's frames and the next command
 * usually share one publish: a statement then costs one broker round trip, not two.
 */
export class SessionRecorder extends EventEmitter {
  private pending: ChainedEvent[] = [];
  private pendingBytes = 0;
  private inflight: InFlight[] = [];
  private acked = -1;
  private unacked = 0;
  private failure: RecordingError | undefined;
  private waiters: Waiter[] = [];
  /**
   * The linger timer outlives the publish that made it unnecessary (a flush): a statement would
   * otherwise arm and clear one each. When it fires it publishes only events that lingered
   * their full lingerMs (`lingerSince`), and waits again for younger ones.
   */
  private linger: NodeJS.Timeout | undefined;
  /** When the oldest event pending without a waiter was appended (ms, performance.now()); undefined when none is. */
  private lingerSince: number | undefined;
  /** One timer for the oldest publish in flight, not one per publish; left to run out when all are acknowledged. */
  private ackTimer: NodeJS.Timeout | undefined;
  private readonly maxBatchBytes: number;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly chain: SessionChain,
    private readonly sink: EventSink,
    private readonly opts: RecorderOptions,
  ) {
    super();
    this.maxBatchBytes = opts.maxBatchBytes ?? 768 * 1024;
    this.lingerMs = opts.lingerMs ?? 5;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  get sessionId(): string {
    return this.chain.sessionId;
  }

  /** Bytes appended but not yet acknowledged. */
  get unackedBytes(): number {
    return this.unacked;
  }

  get failed(): RecordingError | undefined {
    return this.failure;
  }

  get headHash(): Buffer {
    return this.chain.headHash;
  }

  get nextSeq(): number {
    return this.chain.seq;
  }

  /** Chains the event now and queues it for publishing. Throws once recording has failed. */
  append(body: EventBody): ChainedEvent {
    if (this.failure) throw this.failure;
    const e = this.chain.append(body);
    this.pending.push(e);
    this.pendingBytes += e.body.length;
    this.unacked += e.body.length;
    if (this.pendingBytes >= this.maxBatchBytes || this.lingerMs <= 0) this.pump();
    else {
      this.lingerSince ??= performance.now();
      this.linger ??= setTimeout(this.lingered, this.lingerMs);
    }
    return e;
  }

  /** Resolves when every event appended so far is acknowledged; rejects if recording failed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.chain.seq - 1;
    if (seq <= this.acked) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.pump();
    });
  }

  private takeBatch(): ChainedEvent[] {
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.body.length <= this.maxBatchBytes)) {
      bytes += this.pending[n]!.body.length;
      n++;
    }
    this.pendingBytes -= bytes;
    return this.pending.splice(0, n);
  }

  private readonly lingered = (): void => {
    this.linger = undefined;
    if (this.lingerSince === undefined || this.failure) return;
    const left = this.lingerSince + this.lingerMs - performance.now();
    if (left > 0.5) this.linger = setTimeout(this.lingered, Math.ceil(left));
    else this.pump();
  };

  private pump(): void {
    this.lingerSince = undefined;
    while (!this.failure && this.pending.length > 0 && this.inflight.length < this.maxInFlight) this.publish(this.takeBatch());
    // Events left behind (too many publishes in flight) go out as soon as one is acknowledged.
  }

  private publish(batch: ChainedEvent[]): void {
    const entry: InFlight = { lastSeq: batch[batch.length - 1]!.event.seq, bytes: 0, done: false, deadline: performance.now() + this.opts.ackTimeoutMs };
    for (const e of batch) entry.bytes += e.body.length;
    this.inflight.push(entry);
    this.ackTimer ??= setTimeout(this.checkAcks, this.opts.ackTimeoutMs).unref();
    // Once this session failed, its batches still queued in the sink are not sent (no holes).
    this.sink.publish(this.chain.sessionId, batch, this.cancelled).then(
      () => {
        entry.done = true;
        this.settle();
      },
      (err: unknown) => this.fail(err instanceof RecordingError ? err : new RecordingError('PUBLISH_FAILED', `publishing to the event log failed: ${errorMessage(err)}`)),
    );
  }

  /**
   * The ack timer fired: the oldest publish still unacknowledged (its deadline is the earliest)
   * decides. Past its deadline the session fails; otherwise the timer waits for that deadline.
   */
  private readonly checkAcks = (): void => {
    this.ackTimer = undefined;
    const head = this.inflight.find((f) => !f.done);
    if (!head || this.failure) return;
    const left = head.deadline - performance.now();
    if (left <= 0) this.fail(new RecordingError('ACK_TIMEOUT', `the event log did not acknowledge within ${this.opts.ackTimeoutMs} ms`));
    else this.ackTimer = setTimeout(this.checkAcks, Math.ceil(left)).unref();
  };

  /** Advances the acknowledged prefix: a batch counts only once every batch before it did. */
  private settle(): void {
    if (this.failure) return;
    let advanced = false;
    while (this.inflight.length > 0 && this.inflight[0]!.done) {
      const head = this.inflight.shift()!;
      this.acked = head.lastSeq;
      this.unacked -= head.bytes;
      advanced = true;
    }
    if (!advanced) return;
    this.waiters = this.waiters.filter((w) => (w.seq <= this.acked ? (w.resolve(), false) : true));
    this.emit('drain');
    // Events held back by maxInFlight (none of them lingering) go out now.
    if (this.pending.length > 0 && this.lingerSince === undefined) this.pump();
  }

  private readonly cancelled = (): boolean => this.failure !== undefined;

  private fail(err: RecordingError): void {
    if (this.failure) return;
    this.failure = err;
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    this.lingerSince = undefined;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    this.pending = [];
    this.pendingBytes = 0;
    this.emit('failed', err);
  }
}
