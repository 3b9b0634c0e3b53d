import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredEvent } from '@chaperone/store';
import { FIRST_PAGE, MAX_PAGE, storedPages } from './stored.js';

/** A store holding the given seqs of one session; more can be added while a replay runs. */
function fakeStore(seqs: number[]) {
  const held = new Set(seqs);
  const ranges: [number, number][] = [];
  const ev = (seq: number) => ({ seq }) as StoredEvent;
  return {
    held,
    ranges,
    eventRange(_id: string, from: number, to: number) {
      ranges.push([from, to]);
      return Promise.resolve([...held].filter((s) => s >= from && s < to).sort((a, b) => a - b).map(ev));
    },
    lastStoredSeq() {
      return Promise.resolve(held.size ? Math.max(...held) : -1);
    },
  };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

async function collect(pages: AsyncIterable<StoredEvent[]>, onPage?: (i: number) => void): Promise<{ seqs: number[]; sizes: number[] }> {
  const seqs: number[] = [];
  const sizes: number[] = [];
  for await (const p of pages) {
    onPage?.(sizes.length);
    sizes.push(p.length);
    seqs.push(...p.map((e) => e.seq));
  }
  return { seqs, sizes };
}

describe('storedPages', () => {
  it('starts with a small page and grows, every range bounded by the last stored seq', async () => {
    const n = 30_000;
    const store = fakeStore(range(n));
    const { seqs, sizes } = await collect(storedPages(store, 's'));
    assert.deepEqual(seqs, range(n));
    assert.equal(sizes[0], FIRST_PAGE);
    assert.ok(sizes.every((s) => s <= MAX_PAGE));
    assert.ok(store.ranges.every(([from, to]) => to - from <= MAX_PAGE && to <= n));
  });

  it('reads a short session once more when the speculative first page is not full', async () => {
    const store = fakeStore(range(5));
    assert.deepEqual((await collect(storedPages(store, 's'))).seqs, range(5));
  });

  it('goes on past a gap, and from a given seq', async () => {
    const seqs = range(2000).filter((s) => s !== 150 && s !== 900);
    assert.deepEqual((await collect(storedPages(fakeStore(seqs), 's'))).seqs, seqs);
    assert.deepEqual((await collect(storedPages(fakeStore(seqs), 's', 1500))).seqs, range(500, 1500));
  });

  it('ends at once for a session with nothing stored', async () => {
    assert.deepEqual((await collect(storedPages(fakeStore([]), 's'))).seqs, []);
  });

  it('picks up events stored while it runs, without skipping any', async () => {
    const store = fakeStore(range(1000));
    const { seqs } = await collect(storedPages(store, 's'), (i) => {
      if (i === 1) for (const s of range(700, 1000)) store.held.add(s);
    });
    assert.deepEqual(seqs, range(1700));
  });
});
