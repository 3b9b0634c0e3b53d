import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PublishCancelled } from '../../errors.js';
import { ProduceBatcher } from './produce-batcher.js';

/** Lets the event-loop turn end: a request leaves then. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ProduceBatcher', () => {
  it('merges publishes that arrive while requests are in flight, in order', async () => {
    const sent: number[][] = [];
    const releases: (() => void)[] = [];
    const gc = new ProduceBatcher<number>((items) => {
      sent.push(items);
      return new Promise((r) => releases.push(r));
    });
    const first = gc.publish([1], 1);
    await turn();
    const rest = [gc.publish([2], 1), gc.publish([3, 4], 2), gc.publish([5], 1)];
    assert.deepEqual(sent, [[1]]);
    releases.shift()!();
    await first;
    await turn();
    assert.deepEqual(sent, [[1], [2, 3, 4, 5]]);
    releases.shift()!();
    await Promise.all(rest);
    assert.deepEqual(gc.stats, { requests: 2, publishes: 4 });
  });

  it('splits a backlog by size and fails only the group whose request failed', async () => {
    let calls = 0;
    const gc = new ProduceBatcher<string>((items) => {
      calls++;
      return items.includes('bad') ? Promise.reject(new Error('broker said no')) : Promise.resolve();
    }, { maxRequestBytes: 10 });
    const results = await Promise.allSettled([gc.publish(['a'], 8), gc.publish(['b'], 8), gc.publish(['bad'], 8), gc.publish(['c'], 1)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    assert.equal(calls, 3);
  });

  it("never sends an owner's queued publishes after one of its earlier publishes failed (no hole in its sequence); others go on", async () => {
    const sent: string[][] = [];
    const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
    const gc = new ProduceBatcher<string>((items) => {
      sent.push(items);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    });
    const a1 = gc.publish(['a1'], 1, { key: 'a' });
    await turn();
    const a2 = gc.publish(['a2'], 1, { key: 'a' });
    const b1 = gc.publish(['b1'], 1, { key: 'b' });
    pending.shift()!.reject(new Error('broker restarting'));
    await assert.rejects(a1, /broker restarting/);
    await assert.rejects(a2, (err: Error) => err instanceof PublishCancelled && /earlier publish of a failed/.test(err.message));
    await turn();
    assert.deepEqual(sent, [['a1'], ['b1']], 'a2 was never sent; b1 was');
    pending.shift()!.resolve();
    await b1;
  });

  it('drops a queued publish whose owner says it is cancelled, just before sending', async () => {
    const sent: string[][] = [];
    const releases: (() => void)[] = [];
    const gc = new ProduceBatcher<string>((items) => {
      sent.push(items);
      return new Promise((r) => releases.push(r));
    });
    let failed = false;
    const first = gc.publish(['x1'], 1, { key: 'x', cancelled: () => failed });
    await turn();
    const second = gc.publish(['x2'], 1, { key: 'x', cancelled: () => failed });
    const other = gc.publish(['y1'], 1, { key: 'y' });
    failed = true; // e.g. the session's acknowledgement timed out meanwhile
    releases.shift()!();
    await first;
    await assert.rejects(second, PublishCancelled);
    assert.deepEqual(sent, [['x1'], ['y1']]);
    releases.shift()!();
    await other;
  });

  it('sends the publishes of one event-loop turn in one request, and sends at once when asked to', async () => {
    const sent: number[][] = [];
    const gathered = new ProduceBatcher<number>((items) => (sent.push(items), Promise.resolve()));
    const all = [gathered.publish([1], 1), gathered.publish([2], 1), gathered.publish([3], 1)];
    assert.equal(sent.length, 0, 'nothing leaves within the turn');
    await Promise.all(all);
    assert.deepEqual(sent, [[1, 2, 3]]);
    const eager = new ProduceBatcher<number>((items) => (sent.push(items), Promise.resolve()), { gatherTurn: false });
    const e = eager.publish([4], 1);
    assert.deepEqual(sent.at(-1), [4]);
    await e;
  });
});
