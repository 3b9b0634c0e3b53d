import { StoreError } from './errors.js';

/** Options of `Store.eventRange`. */
export interface RangeOptions {
  /**
   * Ends the page before the event that would take the page's payload and Avro bytes past this
   * many; the first event is returned whatever its size, so a page is never empty while the range
   * holds events. A page then holds at most max(maxBytes, its first event's bytes).
   * @default no limit: the whole range
   */
  maxBytes?: number;
}

/** A stored seq and the bytes its event returns (payload and Avro). */
export interface SeqBytes {
  seq: number;
  bytes: number;
}

export function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new StoreError('BAD_REQUEST', `maxBytes must be a positive integer, got ${maxBytes}`);
}

/**
 * How many of these events (in seq order) fit in maxBytes, at least one when there is one:
 * events are taken while the running total stays within the budget.
 */
export function fitting(sizes: readonly number[], maxBytes: number): number {
  let total = 0;
  for (let i = 0; i < sizes.length; i++) {
    total += sizes[i]!;
    if (total > maxBytes) return Math.max(1, i);
  }
  return sizes.length;
}

/**
 * The seq a budgeted read stops before, from the sizes of the range's stored events (in seq
 * order, each seq once); `undefined` when the range holds none.
 */
export function budgetEnd(stored: readonly SeqBytes[], maxBytes: number): number | undefined {
  if (stored.length === 0) return undefined;
  return stored[fitting(stored.map((s) => s.bytes), maxBytes) - 1]!.seq + 1;
}
