import { Backend } from '../../protocols/postgres/index.js';

/**
 * Which recorded command each upstream message answers, by the protocol's own order, so a Frame
 * says whose rows it carries (events v3) even when one write holds the results of several
 * pipelined commands.
 *
 * The upstream answers what the gateway forwarded in order. Each Query, FunctionCall and Sync ends
 * a segment answered by one ReadyForQuery (the segment's number is AnswerQueue.owed when its
 * commands went upstream). Inside a segment the commands are answered one after the other: a
 * simple Query's statements, each extended execution (Bind … Execute), each ended by
 * CommandComplete or EmptyQueryResponse. After an ErrorResponse the upstream skips the rest of the
 * segment (a failed Query runs none of its later statements; an extended batch is ignored up to
 * its Sync), so the error and that segment's ReadyForQuery go to the command that failed. The
 * last command of a segment keeps what follows it (a statement the gateway's parser did not split
 * still has all its results). Asynchronous messages (ParameterStatus, NotificationResponse)
 * belong to no command.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
 */
export class ResultOwners {
  /** Commands forwarded and not yet answered in full, oldest first, with their segment (parallel arrays: no object per command). */
  private readonly ids: number[] = [];
  private readonly segments: number[] = [];
  /** The head's segment saw an ErrorResponse: nothing after it in that segment runs. */
  private failed = false;

  /** Commands `first`…`last` went upstream in segment `segment` (those queued already stay as they are). */
  forwarded(first: number, last: number, segment: number): void {
    const after = this.ids.length > 0 ? this.ids[this.ids.length - 1]! : 0;
    for (let id = Math.max(first, after + 1); id <= last; id++) {
      this.ids.push(id);
      this.segments.push(segment);
    }
  }

  /** Commands of `segment` and later did not go upstream after all (a held batch the gateway refused). */
  withdraw(segment: number): void {
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]! >= segment) {
      this.ids.pop();
      this.segments.pop();
    }
  }

  /** The command an upstream message belongs to (0: none); `segment` is how many ReadyForQuery came before it. */
  owner(code: number, segment: number): number {
    if (code === Backend.ParameterStatus || code === Backend.NotificationResponse) return 0;
    while (this.segments.length > 0 && this.segments[0]! < segment) this.shift();
    const id = this.segments.length > 0 && this.segments[0] === segment ? this.ids[0]! : 0;
    switch (code) {
      case Backend.CommandComplete:
      case Backend.EmptyQueryResponse:
        if (!this.failed && this.segments.length > 1 && this.segments[1] === segment) this.shift();
        break;
      case Backend.ErrorResponse:
        if (id !== 0) this.failed = true;
        break;
      case Backend.ReadyForQuery:
        while (this.segments.length > 0 && this.segments[0]! <= segment) this.shift();
        break;
    }
    return id;
  }

  private shift(): void {
    this.ids.shift();
    this.segments.shift();
    this.failed = false;
  }
}
