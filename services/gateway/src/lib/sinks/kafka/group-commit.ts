/**
 * Group commit for the event log: publishes that arrive while produce requests are in flight
 * are merged into the next request, so N concurrent sessions cost about one broker round trip
 * together instead of N queued ones. Each session has at most one publish outstanding (its
 * recorder waits), so merging never reorders a session's events.
 */
export interface Pending<T> {
  items: T[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface GroupCommitOptions {
  /** Produce requests allowed in flight at once. @default 2 */
  maxInFlight?: number;
  /** Largest merged request; bigger backlogs go out as several. @default 16 MiB */
  maxRequestBytes?: number;
}

export class GroupCommit<T> {
  private queue: Pending<T>[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxRequestBytes: number;
  /** Requests sent and the publishes merged into them, for metrics. */
  readonly stats = { requests: 0, publishes: 0 };

  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    opts: GroupCommitOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxRequestBytes = opts.maxRequestBytes ?? 16 * 1024 * 1024;
  }

  publish(items: T[], bytes: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, bytes, resolve, reject });
      this.pump();
    });
  }

  private take(): Pending<T>[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= this.maxRequestBytes)) bytes += this.queue[n++]!.bytes;
    return this.queue.splice(0, n);
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const group = this.take();
      this.inFlight++;
      this.stats.requests++;
      this.stats.publishes += group.length;
      this.send(group.flatMap((p) => p.items)).then(
        () => this.settle(group),
        (err: unknown) => this.settle(group, err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  private settle(group: Pending<T>[], err?: Error): void {
    this.inFlight--;
    for (const p of group) {
      if (err) p.reject(err);
      else p.resolve();
    }
    this.pump();
  }
}
