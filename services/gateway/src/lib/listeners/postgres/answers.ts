/**
 * A ReadyForQuery the gateway adds, built when it is sent, so it carries the transaction status
 * the upstream reported last, not a stale one.
 */
export const READY_FOR_QUERY_NOW: unique symbol = Symbol('ReadyForQuery with the current transaction status');

/** A frame the gateway adds to what the client reads. */
export type Injected = Buffer | typeof READY_FOR_QUERY_NOW;

export interface Injection {
  /** Upstream ReadyForQuery count this injection is anchored to. */
  at: number;
  /** Sent just before ReadyForQuery number `at`; otherwise once `at` of them were seen. */
  before: boolean;
  frames: Injected[];
  /** The command these frames answer (a refusal's), 0 for none: recorded with them (events v3). */
  commandId: number;
}

/**
 * Where the gateway's own answers (refusals, approval notices) go in the stream the client
 * reads. The upstream answers each Sync, Query and FunctionCall with exactly one
 * ReadyForQuery, so "after the answers to everything forwarded so far" is a count of them.
 * When part of an extended batch already went upstream, its Sync must go too (the upstream
 * would wait for it forever) and the refusal goes just before the ReadyForQuery answering it,
 * after the answers to the forwarded part — where PostgreSQL itself would put the error.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */
export class AnswerQueue {
  private readonly queue: Injection[] = [];
  /** ReadyForQuery messages the upstream owes for what was forwarded. */
  private owedCount = 0;
  /** ReadyForQuery messages the upstream sent. */
  private seenCount = 0;

  /**
   * A Query, FunctionCall or Sync went upstream: the upstream owes one more ReadyForQuery.
   * Returns the segment it ends (the number of ReadyForQuery before its answer; ResultOwners).
   */
  forwarded(): number {
    return this.owedCount++;
  }

  /** ReadyForQuery messages owed for what was forwarded: the segment what goes upstream now belongs to. */
  get owed(): number {
    return this.owedCount;
  }

  /** ReadyForQuery messages the upstream sent: the segment its messages now answer. */
  get seen(): number {
    return this.seenCount;
  }

  /** Everything forwarded was answered. */
  get settled(): boolean {
    return this.seenCount >= this.owedCount;
  }

  /** After the upstream's answers to everything forwarded so far. */
  after(frames: Injected[], commandId = 0): void {
    this.queue.push({ at: this.owedCount, before: false, frames, commandId });
  }

  /** Just before the ReadyForQuery answering the last Sync forwarded. */
  beforeLastReady(frames: Injected[], commandId = 0): void {
    this.queue.push({ at: this.owedCount, before: true, frames, commandId });
  }

  /** What is due now, in order; anything behind a not yet due injection waits for it. */
  due(): Injection[] {
    const out: Injection[] = [];
    while (this.queue.length > 0 && !this.queue[0]!.before && this.queue[0]!.at <= this.seenCount) out.push(this.queue.shift()!);
    return out;
  }

  /** An upstream ReadyForQuery arrived: returns what goes before it; what goes after is then `due()`. */
  onReady(): Injection[] {
    const out: Injection[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      if (head.before && head.at <= this.seenCount + 1) out.push(this.queue.shift()!);
      else if (!head.before && head.at <= this.seenCount) out.push(this.queue.shift()!);
      else break;
    }
    this.seenCount++;
    return out;
  }
}
