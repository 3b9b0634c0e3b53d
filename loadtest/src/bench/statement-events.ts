/**
 * Events of recorded PostgreSQL statements as the gateway publishes them (events v2, services/README.md
 * "Events"): a Frame is one forwarded write of one or several protocol messages, and each publish
 * of a session is one Kafka record holding its consecutive events (encodeRecord). For the
 * benchmarks that publish to Kafka or the store themselves.
 */
import { createHash } from 'node:crypto';
import { encodeRecord, messagesFrame, singleFrame, type ChainedEvent, type SessionChain } from '@chaperone/events';
import { pgCommandComplete, pgDataRow, pgQuery, pgReadyForQuery, pgRowDescription } from '@chaperone/store/testing';

/**
 * What the gateway publishes before it forwards a statement (record-before-forward): the
 * client's Query frame, its Command and its Decision.
 */
export function statementEvents(chain: SessionChain, sql: string, commandId: number): ChainedEvent[] {
  return [
    chain.append(singleFrame('CLIENT_TO_SERVER', 'Query', pgQuery(sql))),
    chain.append({
      type: 'Command', commandId, protocol: 'postgres', action: 'SELECT', targets: ['customers'], text: sql,
      textSha256: createHash('sha256').update(sql).digest('hex'), detailsJson: '{"type":"SELECT"}', params: [],
    }),
    chain.append({ type: 'Decision', commandId, result: 'ALLOW', reasons: [], policyRevision: 'bench', evalMicros: 20, outputJson: '{"result":"allow"}' }),
  ];
}

/** The upstream's answer to a one-row SELECT, forwarded in one write: one Frame event. */
export function resultEvent(chain: SessionChain, value: string): ChainedEvent {
  return chain.append(
    messagesFrame('SERVER_TO_CLIENT', [
      ['RowDescription', pgRowDescription(['full_name'])],
      ['DataRow', pgDataRow([value])],
      ['CommandComplete', pgCommandComplete('SELECT 1')],
      ['ReadyForQuery', pgReadyForQuery()],
    ]),
  );
}

/** One Kafka record: a publish of one session's consecutive events. */
export interface BenchRecord {
  key: string;
  value: Buffer;
  /** Events in the record. */
  events: number;
  /** seq of its last event. */
  lastSeq: number;
}

export function record(chain: SessionChain, events: readonly ChainedEvent[]): BenchRecord {
  return { key: chain.sessionId, value: encodeRecord(events.map((e) => e.body)), events: events.length, lastSeq: events[events.length - 1]!.event.seq };
}

/**
 * Sessions running one-row SELECTs, each statement published as the gateway does: one record
 * before forwarding (Query frame, Command, Decision), one for the answer (one Frame). `next()`
 * gives the next record, the sessions taking turns.
 */
export class StatementPublishes {
  private readonly state: { chain: SessionChain; statements: number; answerDue: boolean }[];
  private turn = 0;

  constructor(chains: readonly SessionChain[]) {
    this.state = chains.map((chain) => ({ chain, statements: 0, answerDue: false }));
  }

  next(): BenchRecord {
    const s = this.state[this.turn++ % this.state.length]!;
    if (s.answerDue) {
      s.answerDue = false;
      return record(s.chain, [resultEvent(s.chain, `customer ${s.statements}`)]);
    }
    s.answerDue = true;
    const id = ++s.statements;
    return record(s.chain, statementEvents(s.chain, `SELECT full_name FROM customers WHERE id = ${id}`, id));
  }

  /** Records until they hold at least `events` events. */
  take(events: number): BenchRecord[] {
    const out: BenchRecord[] = [];
    for (let n = 0; n < events; ) {
      const r = this.next();
      out.push(r);
      n += r.events;
    }
    return out;
  }
}
