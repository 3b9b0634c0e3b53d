import { randomBytes } from 'node:crypto';
import { decodeErrorFields, encodeBind, encodeErrorResponse, encodeExecute, encodeParse, encodeQuery, type PgNotice } from '../../protocols/postgres/index.js';

/** The messageType under which the statements the gateway itself sends upstream are recorded. */
export const ABORT_FRAME_TYPE = 'chaperone.abort-transaction';

/** The name of the function the gateway's failing statement calls: no such function exists (pg_catalog is the superuser's). */
const TOKEN = /chaperone_abort_([0-9a-f]+_\d+)/;

/**
 * The token of a transaction-aborting statement the gateway sent, found in any text holding it
 * (the statement, its recorded frame, the upstream's error or log line); undefined if none.
 */
export function abortToken(text: string): string | undefined {
  return TOKEN.exec(text)?.[1];
}

/**
 * A refused statement fails its transaction, as an error would in PostgreSQL: inside
 * `BEGIN … COMMIT` the transaction is aborted (everything after it answers 25P02 and COMMIT
 * rolls back), and in an extended-query batch part of which already went upstream, the
 * batch's implicit transaction rolls back. Otherwise an agent's `BEGIN; UPDATE …; DROP …;
 * COMMIT` would commit the UPDATE although the script failed.
 *
 * The refused statement never goes upstream. In its place the gateway sends a statement of its
 * own that fails as soon as it is parsed: `SELECT pg_catalog.chaperone_abort_<token>()`, a call
 * of a function that does not exist, carrying a token and nothing of the agent's. It fails at
 * Parse, so in an extended batch the upstream answers it with one ErrorResponse and no
 * ParseComplete/BindComplete the client never asked for; the client reads its refusal in place
 * of that error. When an earlier error in the same batch makes the upstream skip the statement,
 * its error never comes and the client sees only the earlier one, as PostgreSQL would show it.
 */
export class TransactionAborts {
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly pending = new Map<string, PgNotice>();

  /** Frames that make the upstream fail here; `refusal` is what the client will read for it. */
  frames(protocol: 'simple' | 'extended', refusal: PgNotice): Buffer[] {
    const token = `${this.nonce}_${++this.seq}`;
    this.pending.set(token, refusal);
    const sql = `SELECT pg_catalog.chaperone_abort_${token}()`;
    return protocol === 'simple' ? [encodeQuery(sql)] : [encodeParse({ sql }), encodeBind({}), encodeExecute()];
  }

  /** Whether an ErrorResponse from the upstream may answer one of these statements. */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** The client's refusal in place of this upstream ErrorResponse, or undefined when it is not one of ours. */
  replacement(errorPayload: Buffer): Buffer | undefined {
    const token = abortToken(decodeErrorFields(errorPayload).M ?? '');
    const refusal = token === undefined ? undefined : this.pending.get(token);
    if (refusal === undefined) return undefined;
    this.pending.delete(token!);
    return encodeErrorResponse(refusal);
  }

  /** Nothing is outstanding upstream any more: statements an earlier error made it skip never answer. */
  settle(): void {
    this.pending.clear();
  }
}
