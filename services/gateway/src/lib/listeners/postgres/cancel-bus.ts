import { createHash, randomUUID } from 'node:crypto';
import { Kafka, type Consumer, type Producer } from 'kafkajs';
import { decodeSessionControl, encodeSessionControl, ensureTopic, kafkaClientOptions, type EndSessionOrder } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';

/**
 * A CancelRequest names a session only by its backend process id and secret key (protocol
 * 3.0) and reaches whichever gateway node the load balancer picks. A statement running
 * upstream is cancelled by forwarding the request to the upstreams; a statement held for
 * approval lives on the node of its session, which may be another one: the receiving node
 * tells every node through this bus.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS
 */
export interface CancelBus {
  /** Tells the other nodes (the sender's own sessions were checked already). */
  publish(key: string): Promise<void>;
  /** Called with the key of each cancel another node received. */
  onCancel(handler: (key: string) => void): void;
}

/**
 * The same topic also carries an administrator's orders to end a session (the API's EndSession,
 * @chaperone/events session-control): every node reads them, the one holding the session ends it.
 */
export interface SessionEndOrders {
  onEndSession(handler: (order: EndSessionOrder) => void): void;
}

/**
 * What the bus carries and the sessions are looked up by: a digest of the pid and secret key,
 * so the secret itself is not copied to another topic (the session's own recording holds it).
 */
export const cancelKey = (processId: number, secretKey: number): string => createHash('sha256').update(`pg-cancel:${processId}:${secretKey}`).digest('hex');

/** A cancel published longer ago than this is stale (e.g. read after a consumer reconnect) and ignored. */
const MAX_AGE_MS = 30_000;

export interface KafkaCancelBusOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  nodeId: string;
  log: Logger;
}

/**
 * The cancel bus on a small Kafka topic every node reads in full: each process joins its own
 * consumer group (a fresh id, no committed offsets, starting at the end), so all nodes see
 * every cancel and a node that restarts after a crash never waits out its old member's
 * session timeout. A cancel costs one produce and one fetch answer (tens of milliseconds).
 */
export class KafkaCancelBus implements CancelBus, SessionEndOrders {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private handler: (key: string) => void = () => {};
  private endHandler: (order: EndSessionOrder) => void = () => {};

  constructor(private readonly opts: KafkaCancelBusOptions) {
    const kafka = new Kafka(kafkaClientOptions(opts, { role: 'cancel', log: opts.log, retry: 'bounded' }));
    this.kafka = kafka;
    this.producer = kafka.producer({ allowAutoTopicCreation: true });
    this.consumer = kafka.consumer({ groupId: `${opts.clientId}-cancel-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 3000, maxWaitTimeInMs: 1000 });
  }

  onCancel(handler: (key: string) => void): void {
    this.handler = handler;
  }

  onEndSession(handler: (order: EndSessionOrder) => void): void {
    this.endHandler = handler;
  }

  async start(): Promise<void> {
    await this.ensureTopic();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const m = decodeSessionControl(message.value?.toString('utf8') ?? '');
        if (!m || m.from === this.opts.nodeId || Date.now() - m.at > MAX_AGE_MS) return;
        if (m.kind === 'cancel') this.handler(m.key);
        else this.endHandler(m);
        return Promise.resolve();
      },
    });
  }

  /** The topic, created if missing, with a leader (@chaperone/events ensureTopic). */
  private async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(admin, this.opts.topic, 'the cancel topic');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async publish(key: string): Promise<void> {
    await this.producer.send({ topic: this.opts.topic, acks: 1, messages: [{ value: encodeSessionControl({ kind: 'cancel', key, from: this.opts.nodeId, at: Date.now() }) }] });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }
}
