/**
 * Batches sessions' publishes into produce requests (group commit for the event log), one
 * request in flight: publishes that arrive while it is in flight are merged into the next one, so N concurrent sessions cost about one broker round trip
 * together instead of N queued ones. A request also leaves only at the end of the event-loop
 * turn (setImmediate) in which its first publish arrived: every socket read of that turn (under
 * load, one poll phase handles many sessions' reads) adds its publish to the same request,
 * where sending at once would carry the first alone and make the rest wait a round trip. A session's publishes (its recorder pipelines a few) always
 * queue on the same instance and leave in the order they were queued, so merging never reorders
 * a session's events.
 */
import { PublishCancelled } from '../../errors.js';

export interface Pending<T> {
  items: T[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Whose items these are (a session): after a failed request, that owner's queued publishes fail too. */
  key?: string | undefined;
  /** True once the owner no longer wants them sent (it failed meanwhile). */
  cancelled?: (() => boolean) | undefined;
}

/** Options of one publish. */
export interface PublishOptions {
  /** The owner (a session): order matters within it, so a failure of its earlier publish fails the queued later ones. */
  key?: string;
  /** Checked just before the items would be sent: true drops them (rejected) instead. */
  cancelled?: (() => boolean) | undefined;
}


export interface ProduceBatcherOptions {
  /** Largest merged request; bigger backlogs go out as several. @default 16 MiB */
  maxRequestBytes?: number;
  /** Send at the end of the event-loop turn rather than at once (see above). @default true */
  gatherTurn?: boolean;
}

/**
 * One request in flight, always: the producer sends in order (maxInFlightRequests 1), and a
 * second request could overtake a first one that kafkajs retries, reordering a session's events.
 */
export class ProduceBatcher<T> {
  private queue: Pending<T>[] = [];
  private inFlight = false;
  private readonly maxRequestBytes: number;
  private readonly gatherTurn: boolean;
  private scheduled: NodeJS.Immediate | undefined;
  /** Requests sent and the publishes merged into them, for metrics. */
  readonly stats = { requests: 0, publishes: 0 };

  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    opts: ProduceBatcherOptions = {},
  ) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 16 * 1024 * 1024;
    this.gatherTurn = opts.gatherTurn ?? true;
  }

  /**
   * Queues items for the next request. An owner's publishes are sent in order; once one of them
   * fails, its later ones still queued are never sent (they would leave a hole in the owner's
   * sequence), and neither are publishes whose owner says they are cancelled.
   */
  publish(items: T[], bytes: number, opts: PublishOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, bytes, resolve, reject, key: opts.key, cancelled: opts.cancelled });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.gatherTurn) return this.pump();
    if (this.scheduled || this.inFlight) return;
    this.scheduled = setImmediate(this.pumpScheduled);
  }

  private readonly pumpScheduled = (): void => {
    this.scheduled = undefined;
    this.pump();
  };

  private take(): Pending<T>[] {
    if (this.queue.some((p) => p.cancelled?.() === true)) {
      this.queue = this.queue.filter((p) => (p.cancelled?.() === true ? (p.reject(new PublishCancelled('not sent: the publisher failed meanwhile')), false) : true));
    }
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= this.maxRequestBytes)) bytes += this.queue[n++]!.bytes;
    return this.queue.splice(0, n);
  }

  private pump(): void {
    if (!this.inFlight && this.queue.length > 0) {
      const group = this.take();
      this.inFlight = true;
      this.stats.requests++;
      this.stats.publishes += group.length;
      this.send(group.flatMap((p) => p.items)).then(
        () => this.settle(group),
        (err: unknown) => this.settle(group, err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  private settle(group: Pending<T>[], err?: Error): void {
    this.inFlight = false;
    for (const p of group) {
      if (err) p.reject(err);
      else p.resolve();
    }
    if (err) {
      // Synchronously, before pump() sends the next request: the owners' rejection handlers run
      // later (microtasks), too late to stop their queued publishes from going out.
      const failed = new Set(group.map((p) => p.key).filter((k) => k !== undefined));
      if (failed.size > 0) {
        this.queue = this.queue.filter((p) =>
          p.key !== undefined && failed.has(p.key) ? (p.reject(new PublishCancelled(`not sent: an earlier publish of ${p.key} failed (${err.message})`, { cause: err })), false) : true,
        );
      }
    }
    this.schedule();
  }
}
