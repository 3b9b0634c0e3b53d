/** What a Command event means for the simple Query messages still waiting for theirs. */
export interface CommandMatch<Q> {
  /** Queries before the Command's own that got no Command (an empty query, say), in order. */
  orphans: Q[];
  /** The Query the Command was recorded for, which it supersedes in a transcript. */
  own?: Q;
  /** Another statement of the last matched Query ("SELECT 1; SELECT 2" records two Commands). */
  continues: boolean;
}

/**
 * Pairs simple Query messages with the Command events the gateway records for them. Up to v1
 * each Query had a Frame of its own, followed at once by its Commands (one per statement); a v2
 * Frame holds every Query of one client write, and the Commands of all of them follow it. So a
 * Command is matched to the first pending Query whose text contains the Command's (the gateway's
 * statement text is a trimmed part of the query, or the whole of it when it does not parse);
 * the Queries before that one got none. A Command no pending Query contains is another statement
 * of the last matched one if that one contains it, else it takes the first pending Query.
 *
 * A Query still pending when the next Frame arrives got no Command either, as a v1 recording
 * showed by that Frame coming first. One exception keeps the two alike: while an approval is
 * outstanding the gateway has forwarded what came before the held statement, so answers to
 * those may be recorded before the Commands of the rest of the write.
 */
export class QueryMatcher<Q extends { sql: string }> {
  private pending: Q[] = [];
  private lastSql: string | undefined;
  private readonly awaiting = new Set<string>();

  /** Queries waiting for their Command. */
  get size(): number {
    return this.pending.length;
  }

  /** The first Query waiting for its Command. */
  get first(): Q | undefined {
    return this.pending[0];
  }

  add(q: Q): void {
    this.pending.push(q);
  }

  command(text: string): CommandMatch<Q> {
    const at = text === '' ? -1 : this.pending.findIndex((q) => q.sql.includes(text));
    if (at >= 0) {
      const orphans = this.pending.splice(0, at);
      const own = this.pending.shift()!;
      this.lastSql = own.sql;
      return { orphans, own, continues: false };
    }
    if (this.lastSql !== undefined && text !== '' && this.lastSql.includes(text)) return { orphans: [], continues: true };
    // A text the query does not contain (a recording by an older gateway, or a Command of a
    // later message such as a Bind): the first pending Query is taken as its own, as a Command
    // always superseded the Query Frame just before it.
    const own = this.pending.shift();
    this.lastSql = own?.sql;
    return own ? { orphans: [], own, continues: false } : { orphans: [], continues: false };
  }

  /** A Frame or the session's end: the Queries still pending got no Command. */
  settle(): Q[] {
    const orphans = this.pending;
    this.pending = [];
    this.lastSql = undefined;
    return orphans;
  }

  /** A server Frame: settles, unless an approval is outstanding (see the class comment). */
  serverFrame(): Q[] {
    return this.awaiting.size > 0 ? [] : this.settle();
  }

  approvalRequested(approvalId: string): void {
    this.awaiting.add(approvalId);
  }

  approvalResolved(approvalId: string): void {
    this.awaiting.delete(approvalId);
  }
}

/**
 * Which execution a result belongs to, by the protocol's own order (PostgreSQL protocol §55.2.3,
 * "Pipelining"): each Bind is one execution (the gateway records its Command after the frame that
 * holds it), answered in order by CommandComplete, EmptyQueryResponse, PortalSuspended or
 * ErrorResponse; after an error the server skips every message up to the next Sync, so the
 * executions sent before that Sync get no result at all. A client may send several executions
 * (psycopg's pipeline mode, a driver's batch) before reading any result; without this, every
 * result would go to the last Command recorded. Simple queries are left to QueryMatcher.
 */
export class ExecutionOrder<C> {
  /** For each Bind not yet matched with its Command: how many Syncs (or Queries) came before it. */
  private binds: number[] = [];
  private queue: { c: C; sync: number }[] = [];
  /** Messages sent that are each answered by one ReadyForQuery (Sync, Query, FunctionCall). */
  private syncs = 0;
  private readies = 0;

  /** The execution results go to now; undefined when none is queued. */
  get head(): C | undefined {
    return this.queue[0]?.c;
  }

  clientMessage(type: string): void {
    if (type === 'Bind') this.binds.push(this.syncs);
    else if (type === 'Sync' || type === 'Query' || type === 'FunctionCall') this.syncs++;
  }

  /** A Command: the execution of the oldest unmatched Bind, if any (true), else not an execution of the extended protocol. */
  command(c: C): boolean {
    const sync = this.binds.shift();
    if (sync === undefined) return false;
    this.queue.push({ c, sync });
    return true;
  }

  /** After a server message was given to `head`: the executions it ends, and those a ReadyForQuery shows were skipped. */
  serverMessage(type: string): C[] {
    switch (type) {
      case 'CommandComplete':
      case 'EmptyQueryResponse':
      case 'PortalSuspended':
      case 'ErrorResponse':
        this.queue.shift();
        return [];
      case 'ReadyForQuery': {
        // The ReadyForQuery after the login answers nothing the client sent.
        if (this.readies >= this.syncs) return [];
        const segment = this.readies++;
        const skipped: C[] = [];
        while (this.queue.length > 0 && this.queue[0]!.sync <= segment) skipped.push(this.queue.shift()!.c);
        this.binds = this.binds.filter((s) => s > segment);
        return skipped;
      }
      default:
        return [];
    }
  }
}
