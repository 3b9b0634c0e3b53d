import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InsertBatcher } from './insert-batcher.js';

interface Log {
  writes: number[][];
  commits: string[][];
  accepted: string[];
}

function setup(opts: { maxItems?: number; failWrites?: number; failCommit?: boolean } = {}) {
  const log: Log = { writes: [], commits: [], accepted: [] };
  let failures = opts.failWrites ?? 0;
  const g = new InsertBatcher<number, string>({
    maxItems: opts.maxItems ?? 100,
    write: async (items) => {
      await new Promise((r) => setTimeout(r, 5));
      if (failures-- > 0) throw new Error('ClickHouse said no');
      log.writes.push(items);
    },
    commit: (contexts) => {
      if (opts.failCommit) return Promise.reject(new Error('rebalance in progress'));
      log.commits.push(contexts);
      return Promise.resolve();
    },
  });
  const submit = (context: string, items: number[]) => g.submit({ items, context, accepted: () => log.accepted.push(context) });
  return { g, log, submit };
}

describe('InsertBatcher', () => {
  it('writes the submissions of one tick in one insert, then accepts them all, then commits once', async () => {
    const { log, submit } = setup();
    await Promise.all([submit('p0', [1, 2]), submit('p1', [3]), submit('p2', [4, 5, 6])]);
    assert.deepEqual(log.writes, [[1, 2, 3, 4, 5, 6]]);
    assert.deepEqual(log.accepted, ['p0', 'p1', 'p2']);
    assert.deepEqual(log.commits, [['p0', 'p1', 'p2']]);
  });

  it('splits at maxItems between whole submissions, in submission order', async () => {
    const { log, submit } = setup({ maxItems: 4 });
    await Promise.all([submit('a', [1, 2, 3]), submit('b', [4, 5]), submit('c', [6]), submit('d', [7, 8, 9, 10, 11])]);
    assert.deepEqual(log.writes, [[1, 2, 3], [4, 5, 6], [7, 8, 9, 10, 11]]);
    assert.deepEqual(log.commits, [['a'], ['b', 'c'], ['d']]);
  });

  it('collects what arrives during an insert into the next one', async () => {
    const { log, submit } = setup();
    const first = submit('a', [1]);
    await new Promise((r) => setImmediate(r));
    const later = [submit('b', [2]), submit('c', [3])];
    await Promise.all([first, ...later]);
    assert.deepEqual(log.writes, [[1], [2, 3]]);
  });

  it('neither accepts nor commits a group whose write failed, and goes on with the next', async () => {
    const { log, submit } = setup({ maxItems: 1, failWrites: 1 });
    const results = await Promise.allSettled([submit('a', [1]), submit('b', [2])]);
    const [first, second] = results;
    assert.ok(first?.status === 'rejected');
    assert.match(String(first.reason), /ClickHouse said no/);
    assert.equal(second?.status, 'fulfilled');
    assert.deepEqual(log.accepted, ['b']);
    assert.deepEqual(log.commits, [['b']]);
  });

  it('fails every submission of a group whose commit failed', async () => {
    const { submit } = setup({ failCommit: true });
    const results = await Promise.allSettled([submit('a', [1]), submit('b', [2])]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });

  it('accepts empty submissions (a chunk of undecodable messages still moves the offsets)', async () => {
    const { log, submit } = setup();
    await submit('a', []);
    assert.deepEqual(log.accepted, ['a']);
    assert.deepEqual(log.commits, [['a']]);
  });
});
