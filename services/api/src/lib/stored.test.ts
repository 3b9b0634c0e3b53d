import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredEvent } from '@chaperone/store';
import { FIRST_PAGE, GROWTH, MAX_PAGE, PAGE_BYTES, eventBytes, storedPages } from './stored.js';

const KiB = 1024;
/** Backing bytes of the fake events' payloads (views of it, so a big session costs no memory). */
const BYTES = Buffer.alloc(768 * KiB);

/**
 * A store holding the given seqs of one session; more can be added while a replay runs. An
 * event's payload has `size(seq)` bytes (a v2 Frame of a bulk result is up to ~768 KiB).
 */
function fakeStore(seqs: number[], size: (seq: number) => number = () => 100) {
  const held = new Set(seqs);
  const ranges: [number, number][] = [];
  const ev = (seq: number) => ({ seq, payload: BYTES.subarray(0, size(seq)), avro: BYTES.subarray(0, 0) }) as StoredEvent;
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

  it('reads a session of big frames a few frames a page, and grows again on small events', async () => {
    // A statement, its 300 MB result in 768 KiB frames, then small statements again.
    const big = (seq: number) => seq >= 5 && seq < 405;
    const store = fakeStore(range(2000), (seq) => (big(seq) ? 768 * KiB : 200));
    const pages: StoredEvent[][] = [];
    for await (const p of storedPages(store, 's')) pages.push(p);
    assert.deepEqual(pages.flat().map((e) => e.seq), range(2000));
    assert.deepEqual(store.ranges[0], [0, FIRST_PAGE], 'the first page asks for few events');
    const perPage = Math.floor(PAGE_BYTES / (768 * KiB));
    const bytes = pages.map((p) => p.reduce((n, e) => n + eventBytes(e), 0));
    // Once a page has shown big frames, the next ones hold PAGE_BYTES of them at most.
    for (let i = 1; i < pages.length; i++) if (pages[i - 1]!.some((e) => big(e.seq))) assert.ok(pages[i]!.length <= perPage && bytes[i]! <= PAGE_BYTES);
    assert.ok(Math.max(...bytes) <= Math.max(FIRST_PAGE * 768 * KiB, PAGE_BYTES), 'no page holds more than the first page could, or PAGE_BYTES');
    const after = pages.findIndex((p) => p[0]!.seq >= 405);
    assert.ok(pages.slice(after).every((p, i, all) => i === 0 || p.length === Math.min(all[i - 1]!.length * GROWTH, MAX_PAGE, 2000 - p[0]!.seq)), 'pages grow back');
  });

  it('hands out the first page before it reads further than the page after it', async () => {
    const store = fakeStore(range(5000), () => 768 * KiB);
    const pages = storedPages(store, 's');
    const first = (await pages.next()) as IteratorYieldResult<StoredEvent[]>;
    assert.equal(first.value.length, FIRST_PAGE);
    assert.ok(store.ranges.length <= 2, `read ${store.ranges.length} ranges before the first page`);
    assert.deepEqual(store.ranges[0], [0, FIRST_PAGE]);
    assert.ok(store.ranges.slice(1).every(([from, to]) => (to - from) * 768 * KiB <= PAGE_BYTES), 'the page after it holds PAGE_BYTES of such frames');
    await pages.return(undefined);
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
