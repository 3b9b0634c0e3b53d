import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { kafkaEncoderGrowth } from './encoder-growth.js';

const require = createRequire(import.meta.url);
const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');

describe("kafkajs' encoders grow without zero-filling", () => {
  it('is installed and produces the record batches kafkajs produced before, byte for byte', async () => {
    assert.equal(kafkaEncoderGrowth, 'unsafe');
    const Encoder = require(`${dir}src/protocol/encoder.js`) as { prototype: { ensureAvailable: { unsafe?: boolean } } };
    assert.equal(Encoder.prototype.ensureAvailable.unsafe, true);
    const { RecordBatch } = require(`${dir}src/protocol/recordBatch/v0/index.js`) as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
    const Record = require(`${dir}src/protocol/recordBatch/record/v0/index.js`) as (o: object) => unknown;
    const Decoder = require(`${dir}src/protocol/decoder.js`) as new (b: Buffer) => unknown;
    const decodeBatch = require(`${dir}src/protocol/recordBatch/v0/decoder.js`) as (d: unknown) => Promise<{ records: { key: Buffer; value: Buffer }[] }>;
    const crc32c = require(`${dir}src/protocol/recordBatch/crc32C/crc32C.js`) as (b: Buffer) => number;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 70_000 })), { minLength: 1, maxLength: 6 }), async (records) => {
        const batch = await RecordBatch({ records: records.map(([key, value], i) => Record({ offsetDelta: i, key: Buffer.from(key), value: Buffer.from(value) })), firstTimestamp: 1, maxTimestamp: 1 });
        const bytes = batch.buffer;
        // kafkajs' own decoder reads back every record as written, and the checksum covers exactly what was written.
        const decoded = await decodeBatch(new Decoder(bytes));
        assert.deepEqual(decoded.records.map((r) => [Buffer.from(r.key), Buffer.from(r.value)]), records.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
        assert.equal(bytes.readUInt32BE(17), crc32c(bytes.subarray(21)) >>> 0);
      }),
      { numRuns: 40 },
    );
  });
});
