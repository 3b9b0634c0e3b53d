import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { kafkaCrc32c } from './native-crc.js';

const require = createRequire(import.meta.url);

describe('native CRC-32C for kafkajs', () => {
  it('is installed before kafkajs loads and gives what kafkajs computed in JavaScript', () => {
    assert.equal(kafkaCrc32c, 'native');
    const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
    const used = require(`${dir}src/protocol/recordBatch/crc32C/index.js`) as (b: Buffer) => number;
    const javascript = require(`${dir}src/protocol/recordBatch/crc32C/crc32C.js`) as (b: Buffer) => number;
    assert.equal((used as { native?: boolean }).native, true);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (a) => assert.equal(used(Buffer.from(a)), javascript(Buffer.from(a)) >>> 0)));
  });

  it('is what the record batch encoder calls', async () => {
    const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
    const { RecordBatch } = require(`${dir}src/protocol/recordBatch/v0/index.js`) as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
    const Record = require(`${dir}src/protocol/recordBatch/record/v0/index.js`) as (o: object) => unknown;
    const javascript = require(`${dir}src/protocol/recordBatch/crc32C/crc32C.js`) as (b: Buffer) => number;
    const batch = await RecordBatch({ records: [Record({ key: Buffer.from('k'), value: Buffer.alloc(3000, 7) })], firstTimestamp: 1, maxTimestamp: 1 });
    const bytes = batch.buffer;
    // baseOffset(8) length(4) leaderEpoch(4) magic(1) crc(4), then the checksummed rest.
    assert.equal(bytes.readUInt32BE(17), javascript(bytes.subarray(21)) >>> 0);
  });
});
