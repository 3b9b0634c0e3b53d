import type { Store, StoredEvent } from '@chaperone/store';

/**
 * Paging of a stored session for replay. The store reads whole (session_id, seq) ranges, so a
 * page is bounded by its event count; the count follows the events' sizes. A v2 Frame is one
 * forwarded write (up to ~768 KiB, and each event comes back twice: payload and Avro), so a
 * count that suits small events would be hundreds of MB of a bulk result.
 */
/** The first page is small so a replay starts at once, however big the session's frames are. */
export const FIRST_PAGE = 16;
/** Each page has at most this many times the events of the one before. */
export const GROWTH = 4;
export const MAX_PAGE = 2000;
/**
 * Bytes (payload and Avro, so ~8 MiB of frames) a page aims at: the next page holds this much of
 * the largest event of the last one. On ClickHouse 18.16 a range read costs the whole index
 * granule (8192 rows, a whole big session), so fewer, larger pages also mean less read.
 */
export const PAGE_BYTES = 16 * 1024 * 1024;

/** Bytes an event costs a page: its payload and its Avro, as the store returns them. */
export const eventBytes = (e: StoredEvent): number => e.payload.length + e.avro.length;

/**
 * The size of the page after this one: GROWTH times this one's, at most MAX_PAGE, and no more
 * events than PAGE_BYTES holds of this page's largest (so a bulk result is read a few frames at a
 * time, and small events again grow the pages back quickly).
 */
export function nextPageSize(size: number, page: readonly StoredEvent[]): number {
  let largest = 0;
  for (const e of page) largest = Math.max(largest, eventBytes(e));
  const fits = largest > 0 ? Math.floor(PAGE_BYTES / largest) : MAX_PAGE;
  return Math.max(1, Math.min(MAX_PAGE, size * GROWTH, fits));
}

interface Range {
  to: number;
  events: Promise<StoredEvent[]>;
}

/**
 * A session's stored events from `fromSeq`, page by page, each page a bounded (session_id, seq)
 * range (cheap on any session length) sized by `nextPageSize`, the next one read while the caller
 * sends this one (so at most two pages are held). Ends at the last stored seq, read again when
 * reached so a session still being written is followed to what is stored by then; a gap in the
 * seqs does not end it early.
 */
export async function* storedPages(store: Pick<Store, 'eventRange' | 'lastStoredSeq'>, id: string, fromSeq = 0): AsyncGenerator<StoredEvent[]> {
  const read = (from: number, to: number): Range => {
    const events = store.eventRange(id, from, to);
    events.catch(() => undefined); // awaited below unless the caller stops first
    return { to, events };
  };
  let from = fromSeq;
  let size = FIRST_PAGE;
  // The first page is read alongside the last seq. It is used only when full: a short one may
  // have been read before events that the last seq already counts were stored.
  const speculative = read(from, from + size);
  let last = await store.lastStoredSeq(id);
  const first = await speculative.events;
  let next: Range | undefined = first.length === size ? speculative : undefined;
  for (;;) {
    if (!next && from > last) {
      last = await store.lastStoredSeq(id);
      if (from > last) return;
    }
    const current = next ?? read(from, Math.min(from + size, last + 1));
    const page = await current.events;
    from = current.to;
    size = nextPageSize(size, page);
    next = from <= last ? read(from, Math.min(from + size, last + 1)) : undefined;
    if (page.length > 0) yield page;
  }
}
