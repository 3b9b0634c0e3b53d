import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backendPid, framesHoldingSql, messagesInRow } from './frames.js';
import type { LossReader } from './sessions.js';

const hexOf = (s: string) => Buffer.from(s).toString('hex').toUpperCase();

describe('recorded messages inside frames', () => {
  const store: LossReader = { database: 'chaperone', query: () => Promise.reject(new Error('not used')) };

  it('asks for v1 frames by message_type and v2 frames by any of their messages, one literal each', () => {
    const sql = framesHoldingSql({ store, sinceMs: 0 }, "it's");
    assert.match(sql, /PREWHERE \(message_type = 'it\\'s' OR has\(message_types, 'it\\'s'\)\) AND session_id IN \(SELECT session_id FROM chaperone\.sessions/);
  });

  it('cuts every message of the type out of a v2 frame at its offsets', () => {
    const payload = Buffer.from('AAAKKKKBBKK');
    const row = ['s1', '42', payload.toString('hex'), 'A', ['A', 'K', 'B', 'K'].map(hexOf).join(','), '0,3,7,9'];
    assert.deepEqual(
      messagesInRow(row, 'K').map((m) => [m.sessionId, m.tsMicros, m.message.toString()]),
      [['s1', 42, 'KKKK'], ['s1', 42, 'KK']],
    );
    assert.deepEqual(messagesInRow(row, 'Z'), []);
  });

  it('takes a v1 frame (no message_types) as one message of its message_type', () => {
    const row = ['s1', '7', hexOf('whole'), 'K', '', ''];
    assert.deepEqual(messagesInRow(row, 'K').map((m) => m.message.toString()), ['whole']);
    assert.deepEqual(messagesInRow(row, 'A'), []);
  });

  it('reads a type name holding the separator intact (types travel hex-encoded)', () => {
    const row = ['s1', '1', hexOf('xy'), 'a,b', [hexOf('a,b'), hexOf('c')].join(','), '0,1'];
    assert.deepEqual(messagesInRow(row, 'a,b').map((m) => m.message.toString()), ['x']);
  });
});

describe('backendPid', () => {
  const key = (len: number, secret: number) => {
    const b = Buffer.alloc(9 + secret);
    b.write('K', 0);
    b.writeInt32BE(len, 1);
    b.writeInt32BE(4242, 5);
    return b;
  };

  it('reads the pid of a BackendKeyData with a 4-byte or longer (protocol 3.2) secret', () => {
    assert.equal(backendPid(key(12, 4)), 4242);
    assert.equal(backendPid(key(40, 32)), 4242);
  });

  it('refuses bytes that are not one whole BackendKeyData', () => {
    assert.equal(backendPid(key(13, 4)), undefined);
    assert.equal(backendPid(Buffer.concat([key(12, 4), Buffer.from('Z')])), undefined);
    assert.equal(backendPid(Buffer.from('Z\0\0\0\x05I')), undefined);
    const notK = key(12, 4);
    notK.write('S', 0);
    assert.equal(backendPid(notK), undefined);
  });
});
