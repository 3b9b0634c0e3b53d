import { createRequire } from 'node:module';

/**
 * kafkajs builds a produce request in nested encoders: each record its own Encoder (a zero-filled
 * 512-byte buffer, and one Buffer.from per varint), the record batch, the partition, the topic and
 * the request each copying what they hold. On the gateway's records (one per session publish, a few
 * hundred bytes) that is ~20 µs of CPU per record and ~60 µs per request (issue #12,
 * loadtest/README.md "Produce requests' encoding").
 *
 * This wraps kafkajs' produce request (v3, which v4-v7 build on) so that a request of plain records
 * (no compression, no transaction, no headers, keys and values Buffers or strings) is encoded in
 * one pass into one buffer of the exact size: the same bytes, field by field, as kafkajs writes
 * (KIP-98 record batch v2). Anything else keeps kafkajs' own encoder. It is installed only after
 * both encoders gave byte-identical requests for a set of samples (several partitions and topics,
 * null and multi-byte keys, values whose lengths need 1-3 varint bytes, 200 records, explicit
 * timestamps); otherwise kafkajs keeps its own and the gateway is slower, never wrong.
 *
 * Like native-crc.ts it works on the CommonJS module cache and must run before kafkajs loads its
 * produce requests; it must run after native-crc.ts so the batch checksum is the one in use.
 * @see https://kafka.apache.org/documentation/#recordbatch
 */
const require = createRequire(import.meta.url);

interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}
interface LongClass {
  fromValue(v: unknown): LongLike;
  fromInt(v: number): LongLike;
}
interface EncoderLike {
  buf: Buffer;
  offset: number;
}
interface KafkaMessage {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: object;
  timestamp?: unknown;
}
interface PartitionData {
  partition: number;
  firstSequence?: number;
  messages: KafkaMessage[];
}
interface TopicData {
  topic: string;
  partitions: PartitionData[];
}
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}
interface ProduceRequest {
  encode: () => Promise<EncoderLike>;
}
type RequestFactory = ((args: ProduceArgs) => ProduceRequest) & { fast?: boolean; kafkajs?: RequestFactory };

const INT32_MASK = 0xffffff80;

function zigzag(v: number): number {
  return (v << 1) ^ (v >> 31);
}

function sizeOfVarInt(v: number): number {
  let z = zigzag(v);
  let n = 1;
  while ((z & INT32_MASK) !== 0) {
    n++;
    z >>>= 7;
  }
  return n;
}

function writeVarInt(buf: Buffer, at: number, v: number): number {
  let z = zigzag(v);
  while ((z & INT32_MASK) !== 0) {
    buf[at++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[at++] = z & 0x7f;
  return at;
}

function byteLength(v: Buffer | string | null | undefined): number {
  return v == null ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function writeVarIntBytes(buf: Buffer, at: number, v: Buffer | string | null | undefined, length: number): number {
  at = writeVarInt(buf, at, length);
  if (v == null) return at;
  if (typeof v === 'string') return at + buf.write(v, at, length, 'utf8');
  v.copy(buf, at);
  return at + length;
}

function writeLong(buf: Buffer, at: number, v: LongLike): number {
  buf.writeInt32BE(v.getHighBits(), at);
  buf.writeInt32BE(v.getLowBits(), at + 4);
  return at + 8;
}

const isPlainValue = (v: unknown): boolean => v == null || typeof v === 'string' || Buffer.isBuffer(v);
const DELTA_LIMIT = 2 ** 30;

/** Whether `args` is a request this encoder writes exactly as kafkajs would; else kafkajs encodes it. */
export function encodable(args: ProduceArgs): boolean {
  if ((args.compression ?? 0) !== 0 || args.transactionalId != null) return false;
  for (const t of args.topicData) {
    for (const p of t.partitions) {
      if (p.messages.length === 0) return false;
      for (const m of p.messages) {
        if (!isPlainValue(m.key) || !isPlainValue(m.value)) return false;
        if (m.headers !== undefined && (m.headers === null || typeof m.headers !== 'object' || Object.keys(m.headers).length > 0)) return false;
        if (m.timestamp != null && !(typeof m.timestamp === 'number' && Number.isSafeInteger(m.timestamp) && m.timestamp > 0)) return false;
      }
    }
  }
  return true;
}

interface PartitionPlan {
  partition: number;
  firstSequence: number;
  messages: KafkaMessage[];
  keyLengths: Int32Array;
  valueLengths: Int32Array;
  bodySizes: Int32Array;
  deltas: Float64Array;
  firstTimestamp: number;
  maxTimestamp: number;
  recordsSize: number;
}

/** Timestamps exactly as kafkajs derives them: the given ones sorted (as strings, as Array#sort does), else now. */
function plan(p: PartitionData, now: number): PartitionPlan | undefined {
  const n = p.messages.length;
  const given = p.messages
    .map((m) => m.timestamp as number | undefined)
    .filter((t) => t != null)
    .sort();
  const firstTimestamp = given.length === 0 ? now : given[0]!;
  const maxTimestamp = given.length === 0 ? now : given[given.length - 1]!;
  const keyLengths = new Int32Array(n);
  const valueLengths = new Int32Array(n);
  const bodySizes = new Int32Array(n);
  const deltas = new Float64Array(n);
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const m = p.messages[i]!;
    const delta = ((m.timestamp as number | undefined) || now) - firstTimestamp;
    if (!(Math.abs(delta) < DELTA_LIMIT)) return undefined;
    deltas[i] = delta;
    const k = byteLength(m.key);
    const v = byteLength(m.value);
    keyLengths[i] = k;
    valueLengths[i] = v;
    // attributes, timestamp delta, offset delta, key, value, header count (0)
    const body = 1 + sizeOfVarInt(delta) + sizeOfVarInt(i) + sizeOfVarInt(k) + Math.max(0, k) + sizeOfVarInt(v) + Math.max(0, v) + 1;
    bodySizes[i] = body;
    recordsSize += sizeOfVarInt(body) + body;
  }
  return { partition: p.partition, firstSequence: p.firstSequence ?? 0, messages: p.messages, keyLengths, valueLengths, bodySizes, deltas, firstTimestamp, maxTimestamp, recordsSize };
}

// Record batch (magic 2): base offset 8, length 4, leader epoch 4, magic 1, crc 4, then the
// checksummed body: attributes 2, last offset delta 4, first and max timestamp 8+8, producer id 8,
// producer epoch 2, first sequence 4, record count 4, records.
const BATCH_BODY_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4;

/** The produce request body (what kafkajs' encode() returns), or undefined when a value falls outside what this writes. */
export function encodeProduce(args: ProduceArgs, now: number, Long: LongClass, crc32c: (b: Buffer) => number): Buffer | undefined {
  const producerId = Long.fromValue(args.producerId ?? Long.fromInt(-1));
  const epoch = args.producerEpoch ?? 0;
  const plans: PartitionPlan[][] = [];
  // transactional id (null: int16 -1), acks, timeout, topic count
  let size = 2 + 2 + 4 + 4;
  for (const t of args.topicData) {
    const ps: PartitionPlan[] = [];
    size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
    for (const p of t.partitions) {
      const pp = plan(p, now);
      if (!pp) return undefined;
      ps.push(pp);
      size += 4 + 4 + BATCH_HEAD + BATCH_BODY_HEAD + pp.recordsSize;
    }
    plans.push(ps);
  }
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeInt16BE(-1, 0);
  at = buf.writeInt16BE(args.acks, at);
  at = buf.writeInt32BE(args.timeout, at);
  at = buf.writeInt32BE(args.topicData.length, at);
  for (let ti = 0; ti < args.topicData.length; ti++) {
    const topic = args.topicData[ti]!.topic;
    const topicLength = Buffer.byteLength(topic, 'utf8');
    at = buf.writeInt16BE(topicLength, at);
    at += buf.write(topic, at, topicLength, 'utf8');
    const ps = plans[ti]!;
    at = buf.writeInt32BE(ps.length, at);
    for (const pp of ps) {
      const batchBodySize = BATCH_BODY_HEAD + pp.recordsSize;
      at = buf.writeInt32BE(pp.partition, at);
      at = buf.writeInt32BE(BATCH_HEAD + batchBodySize, at); // the record batch encoder's size
      at = buf.writeInt32BE(0, at); // base offset (int64 0)
      at = buf.writeInt32BE(0, at);
      at = buf.writeInt32BE(4 + 1 + 4 + batchBodySize, at); // batch length
      at = buf.writeInt32BE(0, at); // partition leader epoch
      at = buf.writeInt8(2, at); // magic
      const crcAt = at;
      at += 4;
      const bodyStart = at;
      at = buf.writeInt16BE(0, at); // attributes: no compression, create time, not transactional
      at = buf.writeInt32BE(pp.messages.length - 1, at);
      at = writeLong(buf, at, Long.fromValue(pp.firstTimestamp));
      at = writeLong(buf, at, Long.fromValue(pp.maxTimestamp));
      at = writeLong(buf, at, producerId);
      at = buf.writeInt16BE(epoch, at);
      at = buf.writeInt32BE(pp.firstSequence, at);
      at = buf.writeInt32BE(pp.messages.length, at);
      for (let i = 0; i < pp.messages.length; i++) {
        const m = pp.messages[i]!;
        at = writeVarInt(buf, at, pp.bodySizes[i]!);
        buf[at++] = 0; // record attributes
        at = writeVarInt(buf, at, pp.deltas[i]!);
        at = writeVarInt(buf, at, i);
        at = writeVarIntBytes(buf, at, m.key, pp.keyLengths[i]!);
        at = writeVarIntBytes(buf, at, m.value, pp.valueLengths[i]!);
        buf[at++] = 0; // no headers
      }
      buf.writeUInt32BE(crc32c(buf.subarray(bodyStart, at)) >>> 0, crcAt);
    }
  }
  return at === size ? buf : undefined;
}

function samples(Long: LongClass): ProduceArgs[] {
  const bytes = (n: number, seed: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (i * 2654435761 + seed) >>> 24;
    return b;
  };
  const ts = 1_765_000_000_000;
  const messages = (n: number, seed: number): KafkaMessage[] =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 7 === 0 ? null : i % 3 === 0 ? `séssion-${seed}-${i}` : bytes(10 + (i % 30), seed + i),
      value: i % 11 === 0 ? `value ${i} ✓` : bytes([0, 1, 63, 64, 127, 200, 8191, 8192, 20_000][i % 9]!, seed * 31 + i),
      timestamp: ts + ((i * 7919) % 5000),
    }));
  return [
    { acks: -1, timeout: 30_000, producerId: Long.fromInt(4711), producerEpoch: 3, topicData: [{ topic: 'chaperone.events', partitions: [{ partition: 0, firstSequence: 12, messages: messages(1, 1) }] }] },
    {
      acks: -1,
      timeout: 5_000,
      producerId: Long.fromValue('9007199254740993'),
      producerEpoch: 0,
      topicData: [
        { topic: 'chaperone.events', partitions: [{ partition: 2, firstSequence: 2_000_000_000, messages: messages(200, 2) }, { partition: 5, messages: messages(3, 3) }] },
        { topic: 'tópico', partitions: [{ partition: 1, firstSequence: 0, messages: messages(40, 4) }] },
      ],
    },
    { acks: 1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: null, headers: {}, timestamp: ts }] }] }] },
  ];
}

async function install(): Promise<'one-pass' | 'kafkajs'> {
  let dir: string;
  try {
    dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
  } catch {
    return 'kafkajs';
  }
  const v3Path = require.resolve(`${dir}src/protocol/requests/produce/v3/request.js`);
  const cached = require.cache[v3Path]?.exports as RequestFactory | undefined;
  if (cached?.fast) return 'one-pass';
  // A later version's module that already loaded has kept kafkajs' own factory.
  for (const v of [4, 5, 6, 7]) if (require.cache[require.resolve(`${dir}src/protocol/requests/produce/v${v}/request.js`)]) return 'kafkajs';
  const original = require(v3Path) as RequestFactory;
  const Long = require(`${dir}src/utils/long.js`) as LongClass;
  const Encoder = require(`${dir}src/protocol/encoder.js`) as { prototype: object };
  const crc32c = require(`${dir}src/protocol/recordBatch/crc32C/index.js`) as (b: Buffer) => number;
  const asEncoder = (buf: Buffer): EncoderLike => Object.assign(Object.create(Encoder.prototype) as EncoderLike, { buf, offset: buf.length });
  try {
    for (const args of samples(Long)) {
      const theirs = (await original(args).encode());
      const ours = encodeProduce(args, Date.now(), Long, crc32c);
      if (!encodable(args) || !ours || !ours.equals(theirs.buf.subarray(0, theirs.offset))) return 'kafkajs';
    }
  } catch {
    return 'kafkajs';
  }
  const fast: RequestFactory = (args) => {
    const request = original(args);
    if (encodable(args)) {
      const kafkajsEncode = request.encode;
      request.encode = async () => {
        const buf = encodeProduce(args, Date.now(), Long, crc32c);
        return buf ? asEncoder(buf) : kafkajsEncode();
      };
    }
    return request;
  };
  fast.fast = true;
  fast.kafkajs = original;
  require.cache[v3Path]!.exports = fast;
  return 'one-pass';
}

/** How this process encodes produce requests: in one pass ('one-pass') or with kafkajs' nested encoders. */
export const kafkaProduceEncoding: 'one-pass' | 'kafkajs' = await install();
