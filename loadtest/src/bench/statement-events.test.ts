import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionChain, decodeRecord, frameMessages, type Frame } from '@chaperone/events';
import { StatementPublishes } from './statement-events.js';

describe('StatementPublishes', () => {
  it('publishes each statement as the gateway does: one record before forwarding, one v2 frame for the answer', () => {
    const chains = [new SessionChain('a', 'gw-bench'), new SessionChain('b', 'gw-bench')];
    const p = new StatementPublishes(chains);
    const records = [p.next(), p.next(), p.next(), p.next()];
    assert.deepEqual(records.map((r) => [r.key, r.events, r.lastSeq]), [['a', 3, 2], ['b', 3, 2], ['a', 1, 3], ['b', 1, 3]]);
    const before = decodeRecord(records[0]!.value);
    assert.deepEqual(before.map((e) => [e.event.seq, e.event.body.type]), [[0, 'Frame'], [1, 'Command'], [2, 'Decision']]);
    const query = before[0]!.event.body as Frame;
    assert.deepEqual([query.messageTypes, query.offsets], [['Query'], [0]]);
    const [answer] = decodeRecord(records[2]!.value);
    const frame = answer!.event.body as Frame;
    assert.equal(answer!.event.sessionId, 'a');
    assert.deepEqual(frameMessages(frame).map((m) => [m.type, frame.bytes[m.start], m.end - m.start === frame.bytes.readInt32BE(m.start + 1) + 1]), [
      ['RowDescription', 0x54, true],
      ['DataRow', 0x44, true],
      ['CommandComplete', 0x43, true],
      ['ReadyForQuery', 0x5a, true],
    ]);
  });

  it('takes whole records until they hold the asked number of events', () => {
    const p = new StatementPublishes([new SessionChain('a', 'gw-bench')]);
    const r = p.take(5);
    assert.deepEqual(r.map((x) => x.events), [3, 1, 3]);
  });
});
