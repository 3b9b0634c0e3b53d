import { randomBytes } from 'node:crypto';
import { Kafka, type Consumer } from 'kafkajs';
import type { Config } from '@chaperone/config';
import { chainHash, decodeRecord, kafkaClientOptions, sessionPartition } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';
import { toEventRow, type StoredEvent } from '@chaperone/store';

export interface FollowOptions {
  kafka: Config['kafka'];
  sessionId: string;
  /** Only events after this seq (the ones already sent); -1 for all. */
  afterSeq: number;
  /** Start reading the partition at this time (ms since the epoch); earlier events are skipped by seq anyway. */
  sinceMs: number;
  signal: AbortSignal;
  log: Logger;
  /** Called once the consumer reads the session's partition (tests wait for it). */
  onReady?: () => void;
  /** Called with the bytes waiting for the reader whenever a record adds to them (tests watch it). */
  onQueued?: (bytes: number) => void;
}

/**
 * Events a follower holds at most before it stops fetching (payload and Avro bytes): a reader
 * slower than the session (or still sending the stored part) pauses the consumer instead of
 * queueing the session in memory.
 */
export const FOLLOW_QUEUE_BYTES = 16 * 1024 * 1024;

/** The events of one Kafka record: one publish, several events (a single one in records written before batches). */
const storedOf = (value: Buffer): StoredEvent[] =>
  decodeRecord(value).map(({ event, body }) => {
    const r = toEventRow(event, body, chainHash(Buffer.from(event.prevHash), body));
    return {
      sessionId: r.session_id, seq: r.seq, tsMicros: r.ts_micros, nodeId: r.node_id, type: r.type, direction: r.direction, messageType: r.message_type,
      messageTypes: r.message_types, messageOffsets: r.message_offsets,
      commandId: r.command_id, payload: r.payload, redacted: r.redacted === 1, avro: r.avro, hash: r.hash, prevHash: r.prev_hash,
    };
  });

const sizeOf = (e: StoredEvent) => e.payload.length + e.avro.length;

/** While held back, the consumer still heartbeats this often (its session timeout is 10 s). */
const HEARTBEAT_MS = 1000;

/**
 * A live session straight from Kafka: a consumer of its own (a throwaway group, deleted
 * afterwards) reads only the session's partition, which the gateway chose from the session id
 * (sessionPartition), from `sinceMs` on, and yields the session's events
 * after `afterSeq` in order, until SessionEnded or the signal aborts. Reading the partition
 * directly keeps the delay to the broker's fetch wait (100 ms), not the materializer's batching.
 * A record is one publish of the session, several events; at most FOLLOW_QUEUE_BYTES of them
 * wait for the reader.
 */
export async function* followSession(o: FollowOptions): AsyncGenerator<StoredEvent> {
  const kafka = new Kafka(kafkaClientOptions(o.kafka, { role: 'follow' }));
  const admin = kafka.admin();
  const groupId = `chaperone-follow-${randomBytes(6).toString('hex')}`;
  const consumer: Consumer = kafka.consumer({ groupId, minBytes: 1, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const queue: StoredEvent[] = [];
  let queued = 0;
  let wake: (() => void) | undefined;
  let space: (() => void) | undefined;
  let stopped = false;
  let failure: Error | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const freed = () => {
    space?.();
    space = undefined;
  };
  const onAbort = () => {
    notify();
    freed();
  };
  o.signal.addEventListener('abort', onAbort);
  let next = o.afterSeq + 1;
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [o.kafka.topic] });
    const partitions = meta.topics[0]?.partitions ?? [];
    const partition = sessionPartition(o.sessionId, partitions.length);
    const offsets = await admin.fetchTopicOffsetsByTimestamp(o.kafka.topic, o.sinceMs);
    const start = offsets.find((p) => p.partition === partition)?.offset ?? '-1';
    await consumer.connect();
    await consumer.subscribe({ topics: [o.kafka.topic], fromBeginning: false });
    consumer.on(consumer.events.CRASH, (e) => {
      failure = e.payload.error;
      notify();
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async (payload) => {
        const { partition: p, message } = payload;
        if (p !== partition || message.key?.toString() !== o.sessionId || !message.value) return;
        try {
          for (const e of storedOf(message.value)) {
            queue.push(e);
            queued += sizeOf(e);
          }
        } catch (err) {
          o.log.warn({ err, offset: message.offset }, 'follow: skipping an undecodable message');
        }
        o.onQueued?.(queued);
        notify();
        // Backpressure: the consumer fetches no further while the reader is this far behind.
        while (queued > FOLLOW_QUEUE_BYTES && !stopped && !o.signal.aborted) {
          await new Promise<void>((r) => {
            const timer = setTimeout(r, HEARTBEAT_MS);
            space = () => {
              clearTimeout(timer);
              r();
            };
          });
          await payload.heartbeat().catch(() => undefined);
        }
      },
    });
    // Offset -1 (nothing at or after sinceMs) means the end of the partition: only new events.
    if (start === '-1') {
      const [end] = (await admin.fetchTopicOffsets(o.kafka.topic)).filter((x) => x.partition === partition);
      consumer.seek({ topic: o.kafka.topic, partition, offset: end?.high ?? '0' });
    } else consumer.seek({ topic: o.kafka.topic, partition, offset: start });
    const others = partitions.map((x) => x.partitionId).filter((x) => x !== partition);
    if (others.length) consumer.pause([{ topic: o.kafka.topic, partitions: others }]);
    o.onReady?.();
    for (;;) {
      while (queue.length) {
        const e = queue.shift()!;
        queued -= sizeOf(e);
        if (queued <= FOLLOW_QUEUE_BYTES) freed();
        if (e.seq < next) continue;
        next = e.seq + 1;
        yield e;
        if (e.type === 'SessionEnded') return;
      }
      if (failure) throw failure;
      if (o.signal.aborted) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    // A consumer held in eachMessage would keep disconnect() waiting.
    stopped = true;
    freed();
    o.signal.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
