import { connect as netConnect } from 'node:net';
import { Kafka, logLevel, type ISocketFactory, type Message, type Producer } from 'kafkajs';
import type { Logger } from '@chaperone/observability';
import { frameBody, type ChainedEvent } from '@chaperone/events';
import type { EventSink } from '../../recording/sink.js';
import { GroupCommit } from './group-commit.js';

export interface KafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  log: Logger;
}

/**
 * kafkajs leaves Nagle's algorithm on; with small produce requests that meet the broker's
 * delayed ACKs it adds up to ~40 ms to every acknowledgement a command waits for.
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = netConnect({ host, port, noDelay: true }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/**
 * Publishes a session's events with key = session id, so one partition holds the session
 * in order. Idempotent producer with acks=all (DESIGN.md "Record-before-forward"); retries
 * are bounded because the session's own ack timeout decides when to give up, and duplicates
 * that a retry might create collapse in ClickHouse on (session_id, seq).
 */
export class KafkaSink implements EventSink {
  private readonly producer: Producer;
  private connected = false;
  private readonly group: GroupCommit<Message>;

  constructor(private readonly opts: KafkaSinkOptions) {
    const kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      socketFactory: noDelaySocketFactory,
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => opts.log.warn({ kafka: entry.log }, 'kafka'),
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 } });
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.group = new GroupCommit((messages) => this.producer.send({ topic: opts.topic, acks: -1, messages }).then(() => undefined));
  }

  /** Produce requests sent and session publishes merged into them. */
  get groupStats(): { requests: number; publishes: number } {
    return this.group.stats;
  }

  get healthy(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  publish(sessionId: string, events: ChainedEvent[]): Promise<void> {
    let bytes = 0;
    const messages = events.map((e): Message => {
      bytes += e.body.length + 64;
      return { key: sessionId, value: frameBody(e.body), headers: { seq: String(e.event.seq), type: e.event.body.type } };
    });
    return this.group.publish(messages, bytes);
  }

  async stop(): Promise<void> {
    await this.producer.disconnect();
  }
}
