import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('merges publishes that arrive while requests are in flight, in order', async () => {
    const sent: number[][] = [];
    const releases: (() => void)[] = [];
    const gc = new GroupCommit<number>((items) => {
      sent.push(items);
      return new Promise((r) => releases.push(r));
    }, { maxInFlight: 1 });
    const first = gc.publish([1], 1);
    const rest = [gc.publish([2], 1), gc.publish([3, 4], 2), gc.publish([5], 1)];
    assert.deepEqual(sent, [[1]]);
    releases.shift()!();
    await first;
    assert.deepEqual(sent, [[1], [2, 3, 4, 5]]);
    releases.shift()!();
    await Promise.all(rest);
    assert.deepEqual(gc.stats, { requests: 2, publishes: 4 });
  });

  it('splits a backlog by size and fails only the group whose request failed', async () => {
    let calls = 0;
    const gc = new GroupCommit<string>((items) => {
      calls++;
      return items.includes('bad') ? Promise.reject(new Error('broker said no')) : Promise.resolve();
    }, { maxInFlight: 1, maxRequestBytes: 10 });
    const results = await Promise.allSettled([gc.publish(['a'], 8), gc.publish(['b'], 8), gc.publish(['bad'], 8), gc.publish(['c'], 1)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    assert.equal(calls, 3);
  });
});
