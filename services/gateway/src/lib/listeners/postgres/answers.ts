/**
 * A frame the gateway adds to what the client reads. 'rfq' is a ReadyForQuery built when it is
 * sent, so it carries the transaction status the upstream reported last, not a stale one.
 */
export type Injected = Buffer | 'rfq';

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
  expected = 0;
  /** ReadyForQuery messages the upstream sent. */
  seen = 0;

  /** After the upstream's answers to everything forwarded so far. */
  after(frames: Injected[], commandId = 0): void {
    this.queue.push({ at: this.expected, before: false, frames, commandId });
  }

  /** Just before the ReadyForQuery answering the last Sync forwarded. */
  beforeLastReady(frames: Injected[], commandId = 0): void {
    this.queue.push({ at: this.expected, before: true, frames, commandId });
  }

  /** What is due now, in order; anything behind a not yet due injection waits for it. */
  due(): Injection[] {
    const out: Injection[] = [];
    while (this.queue.length > 0 && !this.queue[0]!.before && this.queue[0]!.at <= this.seen) out.push(this.queue.shift()!);
    return out;
  }

  /** An upstream ReadyForQuery arrived: returns what goes before it; what goes after is then `due()`. */
  onReady(): Injection[] {
    const out: Injection[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      if (head.before && head.at <= this.seen + 1) out.push(this.queue.shift()!);
      else if (!head.before && head.at <= this.seen) out.push(this.queue.shift()!);
      else break;
    }
    this.seen++;
    return out;
  }
}
