import type { Store, StoredEvent } from '@chaperone/store';

/**
 * Paging of a stored session for replay. Every page is a (session_id, seq) range the store ends at
 * a byte budget (`eventRange`'s maxBytes, sized from the event_bytes column before the events are
 * read), so a page holds at most that many bytes of payload and Avro whatever the events' sizes: a
 * v2 Frame is one forwarded write of up to ~768 KiB, returned twice (payload and Avro), and a bulk
 * result is hundreds of them.
 */
/**
 * Bytes of the first page: enough for a session's first events and one bulk frame (~1.5 MiB with
 * its Avro), so a replay shows the first result rows after one small read.
 */
export const FIRST_PAGE_BYTES = 2 * 1024 * 1024;
/**
 * Bytes (payload and Avro, so ~8 MiB of frames) of every later page: each read costs a round trip
 * and, on ClickHouse, the index granules the range touches (64 rows since migration 004), so pages
 * are a few granules of bulk frames; two pages are held at a time.
 */
export const PAGE_BYTES = 16 * 1024 * 1024;
/** Events a page asks for at most (small events reach no byte budget). */
export const MAX_PAGE = 2000;

/** Bytes an event costs a page: its payload and its Avro, as the store returns them. */
export const eventBytes = (e: StoredEvent): number => e.payload.length + e.avro.length;

interface Range {
  to: number;
  events: Promise<StoredEvent[]>;
}

/** Whether a page holds every seq from `from` on without a gap, so nothing before its end can still arrive. */
const contiguous = (page: readonly StoredEvent[], from: number): boolean => page.length > 0 && page.every((e, i) => e.seq === from + i);

/**
 * A session's stored events from `fromSeq`, page by page: each page a bounded (session_id, seq)
 * range ended by the store at FIRST_PAGE_BYTES, then PAGE_BYTES; the next page starts after the
 * last event of this one and is read while the caller sends this one (so at most two pages are
 * held). Ends at the last stored seq, read again when reached so a session still being written is
 * followed to what is stored by then; a gap in the seqs does not end it early.
 */
export async function* storedPages(store: Pick<Store, 'eventRange' | 'lastStoredSeq'>, id: string, fromSeq = 0): AsyncGenerator<StoredEvent[]> {
  const read = (from: number, to: number, maxBytes: number): Range => {
    const events = store.eventRange(id, from, to, { maxBytes });
    events.catch(() => undefined); // awaited below unless the caller stops first
    return { to, events };
  };
  let from = fromSeq;
  // The first page is read alongside the last seq. It is used only when it has no gap: one read
  // before all of the events the last seq counts were stored may miss some.
  const speculative = read(from, from + MAX_PAGE, FIRST_PAGE_BYTES);
  let last = await store.lastStoredSeq(id);
  let next: Range | undefined = contiguous(await speculative.events, from) ? speculative : undefined;
  let budget = FIRST_PAGE_BYTES;
  for (;;) {
    if (!next && from > last) {
      last = await store.lastStoredSeq(id);
      if (from > last) return;
    }
    const current = next ?? read(from, Math.min(from + MAX_PAGE, last + 1), budget);
    const page = await current.events;
    from = page.length > 0 ? page.at(-1)!.seq + 1 : current.to;
    budget = PAGE_BYTES;
    next = from <= last ? read(from, Math.min(from + MAX_PAGE, last + 1), budget) : undefined;
    if (page.length > 0) yield page;
  }
}
