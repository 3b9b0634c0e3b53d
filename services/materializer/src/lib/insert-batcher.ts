/**
 * Batches inserts (group commit for the materializer): the batches that kafkajs hands to concurrent `eachBatch` calls (one per
 * partition of a fetch) are written to ClickHouse in one insert, then their offsets are resolved
 * and committed in one OffsetCommit. One insert per fetch instead of one per partition is what
 * makes the materializer keep up: on ClickHouse every insert is a new part per table (and its
 * materialized views), and small ones cost about as much as big ones.
 *
 * Exactly-once as seen by queries is kept: a submission's `accepted` runs only after the insert
 * that holds it succeeded, and the commit after that.
 */

export interface Submission<T, C> {
  items: readonly T[];
  /** What the submitter knows the write and the commit may need (its kafkajs batch payload). */
  context: C;
  /** Runs once the insert holding these items succeeded, before the commit (resolve offsets here). */
  accepted: () => void;
}

export interface InsertBatcherOptions<T, C> {
  /** Most items in one insert; a bigger submission goes alone. */
  maxItems: number;
  /** Writes items; resolves when the store accepted all of them, throws to fail this group. */
  write: (items: T[], contexts: C[]) => Promise<void>;
  /** Commits the offsets the `accepted` callbacks resolved; once per successful write. */
  commit: (contexts: C[]) => Promise<void>;
}

interface Pending<T, C> extends Submission<T, C> {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class InsertBatcher<T, C> {
  private queue: Pending<T, C>[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(private readonly opts: InsertBatcherOptions<T, C>) {}

  /** Submissions waiting for the next insert. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Queues items for the next insert; resolves after it and the commit succeeded, rejects with
   * the write's or the commit's error. The insert starts once the callers of this tick have
   * submitted (kafkajs starts every partition's handler at once), or at once when maxItems are
   * waiting.
   */
  submit(s: Submission<T, C>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...s, resolve, reject });
      if (this.flushing || this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    });
  }

  /** Takes whole submissions up to maxItems (at least one). */
  private take(): Pending<T, C>[] {
    let n = 0;
    let count = 0;
    while (n < this.queue.length && (n === 0 || count + this.queue[n]!.items.length <= this.opts.maxItems)) count += this.queue[n++]!.items.length;
    return this.queue.splice(0, n);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.take();
        try {
          const contexts = group.map((p) => p.context);
          await this.opts.write(group.flatMap((p) => p.items), contexts);
          for (const p of group) p.accepted();
          await this.opts.commit(contexts);
        } catch (err) {
          for (const p of group) p.reject(err);
          continue;
        }
        for (const p of group) p.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }
}
