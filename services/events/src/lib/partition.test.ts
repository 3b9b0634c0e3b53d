import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sessionHash, sessionPartition } from './partition.js';

describe('sessionPartition', () => {
  it('is the same for a session every time and within range', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 1, max: 1000 }), (id, n) => {
        const p = sessionPartition(id, n);
        assert.ok(Number.isInteger(p) && p >= 0 && p < n);
        assert.equal(sessionPartition(id, n), p);
      }),
    );
  });

  it('spreads sessions over the partitions', () => {
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[sessionPartition(crypto.randomUUID(), 6)]!++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven: ${counts.join(', ')}`);
  });

  it('hashes as String.hashCode does, unsigned', () => {
    assert.equal(sessionHash(''), 0);
    assert.equal(sessionHash('a'), 97);
    assert.equal(sessionHash('hello'), 99162322);
  });

  it('refuses a topic without partitions', () => {
    assert.throws(() => sessionPartition('x', 0), /at least one partition/);
  });
});
