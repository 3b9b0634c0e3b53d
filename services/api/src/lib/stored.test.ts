import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredEvent } from '@chaperone/store';
import { FIRST_PAGE_BYTES, MAX_PAGE, PAGE_BYTES, eventBytes, storedPages } from './stored.js';

const KiB = 1024;
/** Backing bytes of the fake events' payloads (views of it, so a big session costs no memory). */
const BYTES = Buffer.alloc(3 * 1024 * KiB);

/**
 * A store holding the given seqs of one session; more can be added while a replay runs. An
 * event's payload has `size(seq)` bytes (a v2 Frame of a bulk result is up to ~768 KiB). A read
 * with maxBytes ends as the store ends it: before the event that would pass the budget, at least one.
 */
function fakeStore(seqs: number[], size: (seq: number) => number = () => 100) {
  const held = new Set(seqs);
  const reads: { from: number; to: number; maxBytes: number | undefined }[] = [];
  const ev = (seq: number) => ({ seq, payload: BYTES.subarray(0, size(seq)), avro: BYTES.subarray(0, 0) }) as StoredEvent;
  return {
    held,
    reads,
    eventRange(_id: string, from: number, to: number, opts?: { maxBytes?: number }) {
      reads.push({ from, to, maxBytes: opts?.maxBytes });
      const page: StoredEvent[] = [];
      let bytes = 0;
      for (const seq of [...held].filter((s) => s >= from && s < to).sort((a, b) => a - b)) {
        bytes += size(seq);
        if (page.length > 0 && bytes > (opts?.maxBytes ?? Infinity)) break;
        page.push(ev(seq));
      }
      return Promise.resolve(page);
    },
    lastStoredSeq() {
      return Promise.resolve(held.size ? Math.max(...held) : -1);
    },
  };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const bytesOf = (page: readonly StoredEvent[]) => page.reduce((n, e) => n + eventBytes(e), 0);

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
  it('reads every event in order, each range bounded by MAX_PAGE and the last stored seq', async () => {
    const n = 30_000;
    const store = fakeStore(range(n));
    const { seqs, sizes } = await collect(storedPages(store, 's'));
    assert.deepEqual(seqs, range(n));
    assert.ok(sizes.every((s) => s <= MAX_PAGE));
    assert.ok(store.reads.every(({ from, to }) => to - from <= MAX_PAGE && to <= n));
    assert.deepEqual(store.reads.map((r) => r.maxBytes), [FIRST_PAGE_BYTES, ...Array<number>(store.reads.length - 1).fill(PAGE_BYTES)]);
  });

  it('bounds every page exactly by its byte budget: a bulk result a few frames a page, small events a whole range a page', async () => {
    // A statement, its 300 MB result in 768 KiB frames, then small statements again.
    const big = (seq: number) => seq >= 5 && seq < 405;
    const store = fakeStore(range(5000), (seq) => (big(seq) ? 768 * KiB : 200));
    const pages: StoredEvent[][] = [];
    for await (const p of storedPages(store, 's')) pages.push(p);
    assert.deepEqual(pages.flat().map((e) => e.seq), range(5000));
    const perPage = Math.floor(PAGE_BYTES / (768 * KiB));
    pages.forEach((p, i) => {
      const budget = i === 0 ? FIRST_PAGE_BYTES : PAGE_BYTES;
      assert.ok(bytesOf(p) <= budget, `page ${i} holds ${bytesOf(p)} bytes`);
      const following = pages[i + 1]?.[0];
      // Full: the next event would not have fit (unless the range ended first).
      if (following && p.length < MAX_PAGE) assert.ok(bytesOf(p) + eventBytes(following) > budget, `page ${i} ends early`);
    });
    const firstFrames = Math.floor((FIRST_PAGE_BYTES - 5 * 200) / (768 * KiB));
    assert.deepEqual(pages[0]!.map((e) => e.seq), range(5 + firstFrames), 'the first page: the statement and the first frames of its result');
    assert.ok(pages.filter((p) => p.some((e) => big(e.seq))).slice(1, -1).every((p) => p.length === perPage));
    assert.ok(pages.filter((p) => p[0]!.seq >= 405).slice(0, -1).every((p) => p.length === MAX_PAGE), 'small events: a whole range a page');
  });

  it('ends a page before an event past its budget, and returns one bigger than the budget alone', async () => {
    const bigAt = (at: number) => fakeStore(range(6), (seq) => (seq === at ? 3 * 1024 * KiB : 100));
    assert.deepEqual(await collect(storedPages(bigAt(3), 's')), { seqs: range(6), sizes: [3, 3] });
    assert.deepEqual(await collect(storedPages(bigAt(0), 's')), { seqs: range(6), sizes: [1, 5] });
  });

  it('hands out the first page before it reads further than the page after it', async () => {
    const store = fakeStore(range(5000), () => 768 * KiB);
    const pages = storedPages(store, 's');
    const first = (await pages.next()) as IteratorYieldResult<StoredEvent[]>;
    assert.equal(first.value.length, Math.floor(FIRST_PAGE_BYTES / (768 * KiB)));
    assert.ok(store.reads.length <= 2, `read ${store.reads.length} ranges before the first page`);
    assert.deepEqual(store.reads[0], { from: 0, to: MAX_PAGE, maxBytes: FIRST_PAGE_BYTES });
    assert.ok(store.reads.slice(1).every((r) => r.maxBytes === PAGE_BYTES && r.from === first.value.length), 'the page after it starts after it');
    await pages.return(undefined);
  });

  it('reads a short session once more when the speculative first page is not whole', async () => {
    const store = fakeStore(range(5));
    assert.deepEqual((await collect(storedPages(store, 's'))).seqs, range(5));
    const gap = fakeStore([0, 1, 3, 4]);
    assert.deepEqual((await collect(storedPages(gap, 's'))).seqs, [0, 1, 3, 4]);
    assert.equal(gap.reads.filter((r) => r.from === 0).length, 2, 'a first page with a gap is read again once the last seq is known');
  });

  it('goes on past a gap, and from a given seq', async () => {
    const seqs = range(5000).filter((s) => s !== 150 && s !== 900 && !(s >= 2100 && s < 4200));
    assert.deepEqual((await collect(storedPages(fakeStore(seqs), 's'))).seqs, seqs);
    assert.deepEqual((await collect(storedPages(fakeStore(seqs), 's', 1500))).seqs, seqs.filter((s) => s >= 1500));
  });

  it('ends at once for a session with nothing stored', async () => {
    assert.deepEqual((await collect(storedPages(fakeStore([]), 's'))).seqs, []);
  });

  it('picks up events stored while it runs, without skipping any', async () => {
    const store = fakeStore(range(5000));
    const { seqs } = await collect(storedPages(store, 's'), (i) => {
      if (i === 1) for (const s of range(700, 5000)) store.held.add(s);
    });
    assert.deepEqual(seqs, range(5700));
  });
});
