import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkRecords, type FetchedRecord } from './chunks.js';

/** Records at offsets 10, 11, …, with the given numbers of events (undefined: undecodable). */
const records = (...sizes: (number | undefined)[]): FetchedRecord<string>[] =>
  sizes.map((n, r) => ({ offset: String(10 + r), events: n === undefined ? undefined : Array.from({ length: n }, (_, e) => `${10 + r}.${e}`) }));

describe('chunkRecords', () => {
  it('fills inserts up to the size, splitting a record, and resolves a record with the chunk of its last event', () => {
    assert.deepEqual(chunkRecords(records(3, 2, 1), 4), [
      { events: ['10.0', '10.1', '10.2', '11.0'], resolve: '10', records: 1 },
      { events: ['11.1', '12.0'], resolve: '12', records: 2 },
    ]);
  });

  it('resolves nothing in a chunk that one record fills without ending', () => {
    assert.deepEqual(chunkRecords(records(5), 2), [
      { events: ['10.0', '10.1'], records: 0 },
      { events: ['10.2', '10.3'], records: 0 },
      { events: ['10.4'], resolve: '10', records: 1 },
    ]);
  });

  it('moves past undecodable and empty records with the chunk they stand in, counting only decoded ones', () => {
    assert.deepEqual(chunkRecords(records(undefined), 5), [{ events: [], resolve: '10', records: 0 }]);
    assert.deepEqual(chunkRecords(records(2, undefined, 0), 2), [{ events: ['10.0', '10.1'], resolve: '12', records: 2 }]);
    assert.deepEqual(chunkRecords(records(2, 1, undefined), 2), [
      { events: ['10.0', '10.1'], resolve: '10', records: 1 },
      { events: ['11.0'], resolve: '12', records: 1 },
    ]);
    assert.deepEqual(chunkRecords([], 5), []);
    assert.throws(() => chunkRecords(records(1), 0), RangeError);
  });

  it('keeps every event once and in order, bounds each chunk, and resolves each record after all its events', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.nat(12), { nil: undefined }), { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), (sizes, size) => {
        const input = records(...sizes);
        const chunks = chunkRecords(input, size);
        assert.deepEqual(chunks.flatMap((c) => c.events), input.flatMap((r) => r.events ?? []));
        assert.ok(chunks.every((c) => c.events.length <= size && (c.events.length > 0 || c.resolve !== undefined)));
        assert.equal(chunks.reduce((n, c) => n + c.records, 0), sizes.filter((s) => s !== undefined).length);
        // Once a chunk resolves a record, every event of it and of the records before is in that chunk or earlier.
        let written = 0;
        for (const c of chunks) {
          written += c.events.length;
          if (c.resolve === undefined) continue;
          const upTo = input.slice(0, Number(c.resolve) - 10 + 1).reduce((n, r) => n + (r.events?.length ?? 0), 0);
          assert.ok(upTo <= written, `record ${c.resolve} resolved before all its events were written`);
          const next = input[Number(c.resolve) - 10 + 1];
          if (next?.events?.length) assert.ok(upTo + next.events.length > written, 'the next record did not end in this chunk');
        }
        if (input.length > 0) assert.equal(chunks.at(-1)!.resolve, input.at(-1)!.offset);
      }),
    );
  });
});
