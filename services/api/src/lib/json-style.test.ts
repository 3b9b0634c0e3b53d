import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoMicros, jsonStyle } from './json-style.js';

describe('jsonStyle', () => {
  it('turns microsecond times into ISO 8601, JSON strings into values, and leaves numbers numbers', () => {
    const session = {
      sessionId: 's', startedMicros: 1_765_120_467_123_456, endedMicros: 0, tsMicros: 1_765_120_467_000_001, evalMicros: 42,
      attributesJson: '{"database":"demo"}', identity: { claimsJson: '{}', groups: ['a'] }, counters: { framesIn: 3, messagesIn: 7 },
      detailsJson: 'not json', lastSeq: 12n, big: 2n ** 64n, hash: Buffer.from([0xab, 0x01]), commands: [{ commandId: 1, tsMicros: 1_000_000 }],
    };
    assert.deepEqual(jsonStyle(session), {
      sessionId: 's', startedAt: '2025-12-07T15:14:27.123456Z', endedAt: null, at: '2025-12-07T15:14:27.000001Z', evalMicros: 42,
      attributes: { database: 'demo' }, identity: { claims: {}, groups: ['a'] }, counters: { framesIn: 3, messagesIn: 7 },
      details: 'not json', lastSeq: 12, big: '18446744073709551616', hash: 'ab01', commands: [{ commandId: 1, at: '1970-01-01T00:00:01.000000Z' }],
    });
  });

  it('writes microseconds exactly', () => {
    assert.equal(isoMicros(0), '1970-01-01T00:00:00.000000Z');
    assert.equal(isoMicros(1_765_120_467_999_999), '2025-12-07T15:14:27.999999Z');
  });
});
