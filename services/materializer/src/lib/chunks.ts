/**
 * A Kafka record of a fetched partition batch: one publish of one session, decoded into its
 * events (`undefined` when it does not decode: skipped, but its offset still moves on).
 */
export interface FetchedRecord<T> {
  offset: string;
  events: readonly T[] | undefined;
}

/** One insert's share of a partition batch. */
export interface Chunk<T> {
  events: T[];
  /**
   * The offset to resolve once ClickHouse accepted this chunk: the last record whose events all
   * are in this chunk or in earlier ones. Absent when no record ends here (one record's events
   * go on into the next chunk).
   */
  resolve?: string;
  /** Decoded records that end in this chunk (the records counted once it is accepted). */
  records: number;
}

/**
 * Splits a partition batch into chunks of at most `size` events, in order, for inserts bounded
 * by materializer.batchSize. A record holds several events and may be split across chunks; its
 * offset is resolved only with the chunk holding its last event, so no record is committed
 * before ClickHouse accepted every one of its events (a crash in between writes the record again,
 * and the tables collapse the copies). Records without events end where they stand.
 */
export function chunkRecords<T>(records: readonly FetchedRecord<T>[], size: number): Chunk<T>[] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: Chunk<T>[] = [];
  let current: Chunk<T> = { events: [], records: 0 };
  const close = () => {
    out.push(current);
    current = { events: [], records: 0 };
  };
  for (const r of records) {
    const events = r.events ?? [];
    for (let i = 0; i < events.length; ) {
      if (current.events.length === size) close();
      const take = Math.min(size - current.events.length, events.length - i);
      for (let k = 0; k < take; k++) current.events.push(events[i + k]!);
      i += take;
    }
    current.resolve = r.offset;
    if (r.events) current.records++;
  }
  if (current.events.length > 0 || current.resolve !== undefined) close();
  return out;
}
