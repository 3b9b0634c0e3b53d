import { randomBytes } from 'node:crypto';
import { Kafka, type Admin, type Consumer } from 'kafkajs';
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
 * The events between the consumer and the reader: at most FOLLOW_QUEUE_BYTES (past it the
 * consumer's handler waits in hold()), a wake-up for a reader waiting on an empty queue.
 */
class FollowQueue {
  private readonly events: StoredEvent[] = [];
  private bytes = 0;
  private wake: (() => void) | undefined;
  private space: (() => void) | undefined;
  stopped = false;
  failure: Error | undefined;

  constructor(
    private readonly signal: AbortSignal,
    private readonly onQueued?: (bytes: number) => void,
  ) {}

  push(events: StoredEvent[]): void {
    for (const e of events) {
      this.events.push(e);
      this.bytes += sizeOf(e);
    }
    this.onQueued?.(this.bytes);
    this.notify();
  }

  shift(): StoredEvent | undefined {
    const e = this.events.shift();
    if (!e) return undefined;
    this.bytes -= sizeOf(e);
    if (this.bytes <= FOLLOW_QUEUE_BYTES) this.freed();
    return e;
  }

  /** Backpressure: the consumer fetches no further while the reader is this far behind (heartbeating meanwhile). */
  async hold(heartbeat: () => Promise<void>): Promise<void> {
    while (this.bytes > FOLLOW_QUEUE_BYTES && !this.stopped && !this.signal.aborted) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, HEARTBEAT_MS);
        this.space = () => {
          clearTimeout(timer);
          r();
        };
      });
      await heartbeat().catch(() => undefined);
    }
  }

  /** The reader waits for the next push, a failure or the abort. */
  next(): Promise<void> {
    return new Promise<void>((r) => (this.wake = r));
  }

  fail(err: Error): void {
    this.failure = err;
    this.notify();
  }

  notify = (): void => {
    this.wake?.();
    this.wake = undefined;
  };

  freed = (): void => {
    this.space?.();
    this.space = undefined;
  };
}

/** The session's partition and the offset to start it at (sinceMs); '-1': nothing since then, start at its end. */
async function startingPoint(admin: Admin, o: FollowOptions): Promise<{ partition: number; offset: string; others: number[] }> {
  const meta = await admin.fetchTopicMetadata({ topics: [o.kafka.topic] });
  const partitions = meta.topics[0]?.partitions ?? [];
  const partition = sessionPartition(o.sessionId, partitions.length);
  const byTime = await admin.fetchTopicOffsetsByTimestamp(o.kafka.topic, o.sinceMs);
  let offset = byTime.find((p) => p.partition === partition)?.offset ?? '-1';
  // Offset -1 (nothing at or after sinceMs) means the end of the partition: only new events.
  if (offset === '-1') offset = (await admin.fetchTopicOffsets(o.kafka.topic)).find((x) => x.partition === partition)?.high ?? '0';
  return { partition, offset, others: partitions.map((x) => x.partitionId).filter((x) => x !== partition) };
}

/** Runs the consumer on the session's partition alone, from `offset`, queueing the session's events. */
async function consumeSession(consumer: Consumer, o: FollowOptions, at: { partition: number; offset: string; others: number[] }, queue: FollowQueue): Promise<void> {
  const { topic } = o.kafka;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  consumer.on(consumer.events.CRASH, (e) => queue.fail(e.payload.error));
  await consumer.run({
    autoCommit: false,
    eachMessage: async (payload) => {
      const { partition, message } = payload;
      if (partition !== at.partition || message.key?.toString() !== o.sessionId || !message.value) return;
      try {
        queue.push(storedOf(message.value));
      } catch (err) {
        o.log.warn({ err, offset: message.offset }, 'follow: skipping an undecodable message');
      }
      await queue.hold(() => payload.heartbeat());
    },
  });
  consumer.seek({ topic, partition: at.partition, offset: at.offset });
  if (at.others.length) consumer.pause([{ topic, partitions: at.others }]);
}

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
  const queue = new FollowQueue(o.signal, o.onQueued);
  const onAbort = () => {
    queue.notify();
    queue.freed();
  };
  o.signal.addEventListener('abort', onAbort);
  let next = o.afterSeq + 1;
  try {
    await admin.connect();
    await consumeSession(consumer, o, await startingPoint(admin, o), queue);
    o.onReady?.();
    for (;;) {
      for (let e = queue.shift(); e; e = queue.shift()) {
        if (e.seq < next) continue;
        next = e.seq + 1;
        yield e;
        if (e.type === 'SessionEnded') return;
      }
      if (queue.failure) throw queue.failure;
      if (o.signal.aborted) return;
      await queue.next();
    }
  } finally {
    // A consumer held in eachMessage would keep disconnect() waiting.
    queue.stopped = true;
    queue.freed();
    o.signal.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
