import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { kafkaCrc32c } from './native-crc.js';
import { encodable, kafkaProduceEncoding, type ProduceArgs } from './produce-encoder.js';

const require = createRequire(import.meta.url);
const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');

interface EncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}
type Factory = ((a: ProduceArgs) => { encode: () => Promise<EncoderLike> }) & { fast?: boolean; kafkajs?: Factory };
const installed = require(`${dir}src/protocol/requests/produce/v3/request.js`) as Factory;
const Long = require(`${dir}src/utils/long.js`) as { fromValue(v: unknown): unknown };

/** Both encoders at one fixed clock (kafkajs reads Date.now() for records without a timestamp). */
async function both(args: ProduceArgs): Promise<[Buffer, Buffer]> {
  const realNow = Date.now;
  const now = realNow();
  Date.now = () => now;
  try {
    const ours = (await installed(args).encode()).buffer;
    const theirs = (await installed.kafkajs!(args).encode()).buffer;
    return [ours, theirs];
  } finally {
    Date.now = realNow;
  }
}

const plain = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), fc.string({ unit: 'binary', maxLength: 40 }));
const message = fc.record(
  { key: plain, value: plain, headers: fc.constant({}), timestamp: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_900_000 }) },
  { requiredKeys: ['key', 'value'] },
);
const args: fc.Arbitrary<ProduceArgs> = fc.record({
  acks: fc.constantFrom(-1, 0, 1),
  timeout: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  producerId: fc.bigInt({ min: -1n, max: 2n ** 62n }).map((b) => Long.fromValue(b)),
  producerEpoch: fc.integer({ min: 0, max: 32767 }),
  topicData: fc.array(
    fc.record({
      topic: fc.string({ minLength: 1, maxLength: 30 }),
      partitions: fc.array(fc.record({ partition: fc.nat(1000), firstSequence: fc.option(fc.nat(), { nil: undefined }), messages: fc.array(message, { minLength: 1, maxLength: 40 }) }), { minLength: 1, maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

describe('one-pass produce request encoder', () => {
  it('is installed, after the native checksum', () => {
    assert.equal(kafkaCrc32c, 'native');
    assert.equal(kafkaProduceEncoding, 'one-pass');
    assert.equal(installed.fast, true);
  });

  it('writes the bytes kafkajs writes, for any request of plain records', async () => {
    await fc.assert(
      fc.asyncProperty(args, async (a) => {
        assert.ok(encodable(a));
        const [ours, theirs] = await both(a);
        assert.ok(ours.equals(theirs), 'the one-pass request differs from kafkajs');
      }),
      { numRuns: 100 },
    );
  });

  it('matches kafkajs for records without timestamps and large values', async () => {
    const value = Buffer.alloc(300_000, 7);
    const a: ProduceArgs = { acks: -1, timeout: 30_000, producerId: Long.fromValue(42), producerEpoch: 1, topicData: [{ topic: 'chaperone.events', partitions: [{ partition: 3, firstSequence: 99, messages: [{ key: 'session-1', value }, { key: 'session-2', value: value.subarray(0, 200) }] }] }] };
    const [ours, theirs] = await both(a);
    assert.ok(ours.equals(theirs));
  });

  it('leaves to kafkajs what it does not write: compression, transactions, headers', async () => {
    const base: ProduceArgs = { acks: -1, timeout: 1000, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: Buffer.from('v') }] }] }] };
    assert.equal(encodable({ ...base, compression: 1 }), false);
    assert.equal(encodable({ ...base, transactionalId: 'tx' }), false);
    const withHeaders: ProduceArgs = { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: Buffer.from('v'), headers: { a: 'b' } }] }] }] };
    assert.equal(encodable(withHeaders), false);
    // ...and kafkajs still encodes them, through the installed factory.
    const [ours, theirs] = await both(withHeaders);
    assert.ok(ours.equals(theirs));
  });
});
