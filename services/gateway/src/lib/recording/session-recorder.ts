import { EventEmitter } from 'node:events';
import type { ChainedEvent, EventBody, SessionChain } from '@chaperone/events';
import { RecordingError } from '../errors.js';
import type { EventSink } from './sink.js';

export interface RecorderOptions {
  /** Longest wait for the event log to acknowledge a batch before the session must end. */
  ackTimeoutMs: number;
  /** Largest batch sent in one publish (Kafka's default message.max.bytes is ~1 MB). @default 768KiB */
  maxBatchBytes?: number;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Records one session: chains events in the order they are appended and publishes them in
 * batches, one publish in flight at a time so the log keeps the session's order. Callers
 * forward a client command only after `flush()` resolves (record-before-forward) and pause
 * upstream reads while `unackedBytes` is over their limit ('drain' fires when it falls).
 */
export class SessionRecorder extends EventEmitter {
  private pending: ChainedEvent[] = [];
  private inflight = false;
  private acked = -1;
  private unacked = 0;
  private failure: RecordingError | undefined;
  private waiters: Waiter[] = [];
  private readonly maxBatchBytes: number;

  constructor(
    private readonly chain: SessionChain,
    private readonly sink: EventSink,
    private readonly opts: RecorderOptions,
  ) {
    super();
    this.maxBatchBytes = opts.maxBatchBytes ?? 768 * 1024;
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
    this.unacked += e.body.length;
    if (!this.inflight) setImmediate(() => this.pump());
    return e;
  }

  /** Resolves when every event appended so far is acknowledged; rejects if recording failed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.chain.seq - 1;
    if (seq <= this.acked) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      if (!this.inflight) this.pump();
    });
  }

  private takeBatch(): ChainedEvent[] {
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.body.length <= this.maxBatchBytes)) {
      bytes += this.pending[n]!.body.length;
      n++;
    }
    return this.pending.splice(0, n);
  }

  private pump(): void {
    if (this.inflight || this.failure || this.pending.length === 0) return;
    this.inflight = true;
    const batch = this.takeBatch();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RecordingError('ACK_TIMEOUT', `the event log did not acknowledge within ${this.opts.ackTimeoutMs} ms`)),
        this.opts.ackTimeoutMs,
      );
    });
    Promise.race([this.sink.publish(this.chain.sessionId, batch), timeout]).then(
      () => {
        clearTimeout(timer);
        this.inflight = false;
        this.acked = batch[batch.length - 1]!.event.seq;
        for (const e of batch) this.unacked -= e.body.length;
        this.waiters = this.waiters.filter((w) => (w.seq <= this.acked ? (w.resolve(), false) : true));
        this.emit('drain');
        this.pump();
      },
      (err: unknown) => {
        clearTimeout(timer);
        this.inflight = false;
        this.fail(err instanceof RecordingError ? err : new RecordingError('PUBLISH_FAILED', `publishing to the event log failed: ${(err as Error).message}`));
      },
    );
  }

  private fail(err: RecordingError): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    this.pending = [];
    this.emit('failed', err);
  }
}
