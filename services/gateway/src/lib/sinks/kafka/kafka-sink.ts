// Before kafkajs: its record batches checksummed natively (native-crc.ts).
import './native-crc.js';
import './encoder-growth.js';
// After native-crc.ts (its checksum is the one the one-pass encoder calls).
import './produce-encoder.js';
import { Kafka, type ICustomPartitioner, type Message, type Producer } from 'kafkajs';
import { Counter, Histogram, type Logger, type Registry } from '@chaperone/observability';
import { encodeRecord, kafkaClientOptions, sessionHash, sessionPartition, type ChainedEvent } from '@chaperone/events';
import type { EventSink } from '../../recording/sink.js';
import { ProduceBatcher } from './produce-batcher.js';

export interface KafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  log: Logger;
  /**
   * Producers (each its own broker connection and idempotent producer id). kafkajs sends one
   * produce request per broker at a time for an idempotent producer, so a node's publishes
   * queue behind one round trip; several producers keep several requests in flight. A session
   * always uses the same producer, which keeps its events in order. Most of a request's CPU is
   * per request, not per record (kafkajs' send machinery, request encoding, the socket write), so
   * one producer — the fewest, largest requests — costs a CPU-bound node least per statement;
   * a session alone on a node uses one producer whatever the count. @default 1
   */
  producers?: number;
  /** Where the sink's metrics go (chaperone_kafka_*). */
  registry?: Registry;
}

interface SinkMetrics {
  requests: Counter;
  failures: Counter;
  records: Counter;
  events: Counter;
  publishes: Counter;
  bytes: Counter;
  seconds: Histogram;
}

function createSinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'chaperone_kafka_produce_requests_total', help: 'Produce requests sent (each merges the publishes of many sessions)', registers }),
    failures: new Counter({ name: 'chaperone_kafka_produce_failures_total', help: 'Produce requests that failed after kafkajs retries', registers }),
    records: new Counter({ name: 'chaperone_kafka_produce_messages_total', help: 'Kafka records produced (one per session publish)', registers }),
    events: new Counter({ name: 'chaperone_kafka_produce_events_total', help: 'Events produced (a record holds one publish of one session: several events)', registers }),
    publishes: new Counter({ name: 'chaperone_kafka_session_publishes_total', help: 'Session batches published (merged into produce requests)', registers }),
    bytes: new Counter({ name: 'chaperone_kafka_produce_bytes_total', help: 'Record bytes produced', registers }),
    seconds: new Histogram({
      name: 'chaperone_kafka_produce_seconds',
      help: 'Produce request duration until acks=all, including the wait for the producer connection',
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
  };
}

/**
 * The session's partition (@chaperone/events sessionPartition, which `replay --follow` reads too).
 * Cheaper than kafkajs' default partitioner, which makes a Buffer of each record's key,
 * murmur2-hashes it and filters the partition list, per record.
 */
const sessionPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => sessionPartition(message.key as string, partitionMetadata.length);

/**
 * Largest produce request. kafkajs copies a request's records about four times while encoding it
 * (record, record batch, request, size-prefixed frame), so this bounds a node's transient memory
 * under bulk traffic more than throughput: a bulk session has at most maxInFlightBytes unacknowledged.
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

interface Lane {
  producer: Producer;
  group: ProduceBatcher<Record>;
  connected: boolean;
}

/** One publish of one session: a Kafka record, and how many events it carries (metrics). */
interface Record {
  message: Message;
  events: number;
}

/**
 * Publishes a session's events with key = session id, so one partition holds the session
 * in order: one Kafka record per publish (a SessionEventBatch of the session's consecutive
 * events, no headers), so kafkajs encodes, partitions and checksums a few large records instead
 * of one per protocol message. Idempotent producers with acks=all (services/README.md "Record-before-forward"); retries
 * are bounded because the session's own ack timeout decides when to give up, and duplicates
 * that a retry might create collapse in ClickHouse on (session_id, seq).
 *
 * Each producer ("lane") has a group commit with one request in flight: publishes that arrive
 * meanwhile are merged into the next request, in arrival order, so a session's batches (always
 * on the same lane) reach the partition in the order they were published even when the session
 * pipelines several of them.
 */
export class KafkaSink implements EventSink {
  private readonly lanes: Lane[];
  private readonly metrics: SinkMetrics | undefined;

  constructor(private readonly opts: KafkaSinkOptions) {
    const kafka = new Kafka(kafkaClientOptions(opts, { log: opts.log, retry: 'bounded' }));
    this.metrics = opts.registry ? createSinkMetrics(opts.registry) : undefined;
    this.lanes = Array.from({ length: Math.max(1, opts.producers ?? 1) }, () => {
      // maxInFlightRequests: 1 — this producer's requests must reach the broker in order.
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: sessionPartitioner, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 } });
      const lane: Lane = { producer, connected: false, group: new ProduceBatcher((messages) => this.send(producer, messages), { maxRequestBytes: MAX_REQUEST_BYTES }) };
      producer.on(producer.events.DISCONNECT, () => (lane.connected = false));
      producer.on(producer.events.CONNECT, () => (lane.connected = true));
      return lane;
    });
  }

  /** Produce requests sent and session publishes merged into them, over all producers. */
  get groupStats(): { requests: number; publishes: number } {
    return this.lanes.reduce((a, l) => ({ requests: a.requests + l.group.stats.requests, publishes: a.publishes + l.group.stats.publishes }), { requests: 0, publishes: 0 });
  }

  get healthy(): boolean {
    return this.lanes.every((l) => l.connected);
  }

  async start(): Promise<void> {
    await Promise.all(
      this.lanes.map(async (l) => {
        await l.producer.connect();
        l.connected = true;
      }),
    );
  }

  publish(sessionId: string, events: ChainedEvent[], cancelled?: () => boolean): Promise<void> {
    const value = encodeRecord(events.map((e) => e.body));
    this.metrics?.publishes.inc();
    return this.laneOf(sessionId).group.publish([{ message: { key: sessionId, value }, events: events.length }], value.length + 64, { key: sessionId, cancelled });
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.producer.disconnect()));
  }

  private laneOf(sessionId: string): Lane {
    return this.lanes.length === 1 ? this.lanes[0]! : this.lanes[sessionHash(sessionId) % this.lanes.length]!;
  }

  private async send(producer: Producer, records: Record[]): Promise<void> {
    const m = this.metrics;
    const end = m?.seconds.startTimer();
    try {
      await producer.send({ topic: this.opts.topic, acks: -1, messages: records.map((r) => r.message) });
    } catch (err) {
      m?.failures.inc();
      throw err;
    } finally {
      end?.();
    }
    if (m) {
      m.requests.inc();
      m.records.inc(records.length);
      let bytes = 0;
      let events = 0;
      for (const r of records) {
        bytes += (r.message.value as Buffer).length;
        events += r.events;
      }
      m.events.inc(events);
      m.bytes.inc(bytes);
    }
  }
}
