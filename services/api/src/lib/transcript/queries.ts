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
