import type { Store, StoredEvent } from '@chaperone/store';

/** The first page is small so a replay starts printing at once; later ones grow for throughput. */
export const FIRST_PAGE = 200;
export const MAX_PAGE = 5000;

interface Range {
  to: number;
  events: Promise<StoredEvent[]>;
}

/**
 * A session's stored events from `fromSeq`, page by page, each page a bounded (session_id, seq)
 * range (cheap on any session length), the next one read while the caller sends this one. Ends
 * at the last stored seq, read again when reached so a session still being written is followed
 * to what is stored by then; a gap in the seqs does not end it early.
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
  let next: Range | undefined = (await speculative.events).length === size ? speculative : undefined;
  for (;;) {
    if (!next && from > last) {
      last = await store.lastStoredSeq(id);
      if (from > last) return;
    }
    const current = next ?? read(from, Math.min(from + size, last + 1));
    const page = await current.events;
    from = current.to;
    size = Math.min(MAX_PAGE, size * 4);
    next = from <= last ? read(from, Math.min(from + size, last + 1)) : undefined;
    if (page.length > 0) yield page;
  }
}
