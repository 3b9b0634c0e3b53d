import { Frontend, encodeErrorResponse, type PgMessage, type PgNotice } from '../../protocols/postgres/index.js';
import { READY_FOR_QUERY_NOW, type AnswerQueue } from './answers.js';
import type { HeldExecution } from './approval-wait.js';

/** An extended batch waiting for approval: none of it goes upstream before its end and the approvers' answer. */
export interface HeldBatch {
  frames: Buffer[];
  bytes: number;
  executions: HeldExecution[];
}

/**
 * Where the messages of the client's current extended-query batch (up to its Sync) go: held
 * while an execution in it waits for approval, discarded after a refusal (as PostgreSQL
 * ignores everything up to the Sync after an error: postgres.c ignore_till_sync), or on
 * their way upstream.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */
export class ExtendedBatch {
  held: HeldBatch | undefined;
  /** Part of the batch went upstream: its Sync must go too, and a refusal follows its answers. */
  private forwarded = false;
  /** `error`: the refusal, not sent yet. */
  private discarding: { error: PgNotice | undefined; commandId: number } | undefined;

  constructor(
    private readonly answers: AnswerQueue,
    /** A held batch growing past this is settled without waiting for its end (bounded memory). */
    private readonly maxHeldBytes: number,
  ) {}

  get isDiscarding(): boolean {
    return this.discarding !== undefined;
  }

  /** Part of the batch went upstream (its Sync has not). */
  get partForwarded(): boolean {
    return this.forwarded;
  }

  /**
   * Discards the rest of the batch, up to its Sync, after the gateway sent the upstream a failing
   * statement in place of the refused one (tx-abort.ts): the Sync goes upstream, and the
   * upstream's error for that statement is where the client reads the refusal.
   */
  discardAfterAbort(): void {
    this.forwarded = true;
    this.discarding = { error: undefined, commandId: 0 };
  }

  /** The batch is held from now on (if it was not already). */
  hold(): HeldBatch {
    return (this.held ??= { frames: [], bytes: 0, executions: [] });
  }

  /** Ends the holding; returns what was held. */
  release(): HeldBatch {
    const held = this.held!;
    this.held = undefined;
    return held;
  }

  get overfull(): boolean {
    return this.held !== undefined && this.held.bytes > this.maxHeldBytes;
  }

  /** A message of the batch: held, or on its way upstream. */
  pass(frame: Buffer, out: Buffer[]): void {
    if (this.held) {
      this.held.frames.push(frame);
      this.held.bytes += frame.length;
    } else {
      out.push(frame);
      this.forwarded = true;
    }
  }

  /** A Sync (the upstream answers it with ReadyForQuery, closing the batch) or a Flush, going upstream. */
  passEnd(m: PgMessage, out: Buffer[]): void {
    out.push(m.frame);
    if (m.code !== Frontend.Sync) return void (this.forwarded = true);
    this.answers.forwarded();
    this.forwarded = false;
  }

  /**
   * Refuses the rest of the batch, up to its Sync. The error goes out now unless part of the
   * batch went upstream: then it follows the answers to that part (see endDiscarding).
   */
  refuseRest(error: PgNotice, commandId = 0): void {
    if (this.forwarded) this.discarding = { error, commandId };
    else {
      this.answers.after([encodeErrorResponse(error)], commandId);
      this.discarding = { error: undefined, commandId };
    }
  }

  /** The Sync ending a refused batch: ReadyForQuery in its place (the upstream's, when it has part of the batch). */
  endDiscarding(sync: PgMessage, out: Buffer[]): void {
    const error = this.discarding?.error;
    const commandId = this.discarding?.commandId ?? 0;
    this.discarding = undefined;
    if (this.forwarded) {
      this.passEnd(sync, out);
      this.answers.beforeLastReady(error ? [encodeErrorResponse(error)] : [], commandId);
    } else this.answers.after(error ? [encodeErrorResponse(error), READY_FOR_QUERY_NOW] : [READY_FOR_QUERY_NOW], commandId);
  }
}
