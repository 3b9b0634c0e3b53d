import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { logLevel, type Admin, type ISocketFactory, type ITopicConfig, type KafkaConfig, type logCreator, type RetryOptions } from 'kafkajs';
import type { Logger } from '@chaperone/observability';

/** Which cluster, as the config's `kafka` section says it (any object with these fields will do). */
export interface KafkaClientSettings {
  clientId: string;
  brokers: string[];
}

export interface KafkaClientTuning {
  /** Appended to the client id, `<clientId>-<role>`, so the broker's logs and quotas tell the parts apart. */
  role?: string;
  /** Where kafkajs' own log lines go (by level, as structured fields); without one kafkajs logs nothing. */
  log?: Logger;
  /** The least severe kafkajs line passed on to `log`. @default logLevel.ERROR */
  level?: logLevel;
  /**
   * `bounded`: 5 retries from 100 ms up to 2 s, for a caller with a deadline of its own (a
   * session's ack timeout). `kafkajs`: kafkajs' own (5 retries from 300 ms up to 30 s), for
   * one-off and background clients that may wait out a broker restart. @default 'kafkajs'
   */
  retry?: 'bounded' | 'kafkajs';
}

const RETRY: Record<NonNullable<KafkaClientTuning['retry']>, RetryOptions> = {
  bounded: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  kafkajs: { retries: 5 },
};

/**
 * kafkajs leaves Nagle's algorithm on; with small requests that meet the broker's delayed ACKs it
 * adds up to ~40 ms to every acknowledgement a command waits for (a produce, a cancel).
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  // As kafkajs' own factory does, TLS when the client has ssl options (servername for SNI).
  const socket = ssl ? tlsConnect({ host, port, servername: host, ...ssl }, onConnect) : netConnect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** Routes kafkajs' own logging into a pino logger (stderr, structured), at each line's own level. */
export function kafkaLogCreator(logger: Logger, clientId?: string): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _t, ...extra } = log;
      const fields = { kafka: namespace, ...(clientId ? { kafkaClient: clientId } : {}), ...extra };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

/**
 * The options of every `new Kafka(…)` in the services: the cluster from the config, a client id
 * per role, Nagle off, the retry policy, and kafkajs' logging bridged into ours.
 */
export function kafkaClientOptions(kafka: KafkaClientSettings, tuning: KafkaClientTuning = {}): KafkaConfig {
  const clientId = tuning.role ? `${kafka.clientId}-${tuning.role}` : kafka.clientId;
  return {
    clientId,
    brokers: kafka.brokers,
    socketFactory: noDelaySocketFactory,
    retry: RETRY[tuning.retry ?? 'kafkajs'],
    ...(tuning.log
      ? { logLevel: tuning.level ?? logLevel.ERROR, logCreator: kafkaLogCreator(tuning.log, clientId) }
      : { logLevel: logLevel.NOTHING }),
  };
}

/**
 * Creates a one-partition topic unless it exists, and waits until its partition has a leader:
 * nodes starting together on a fresh broker would otherwise subscribe while the new topic has
 * no leader yet ("This server does not host this topic-partition") and fail to start. Another
 * node creating it at the same moment ("already exists", or that retriable error from the
 * creation's own wait) is left to the wait here. `what` names the topic in the error.
 */
export async function ensureTopic(admin: Admin, topic: string, what: string, configEntries?: ITopicConfig['configEntries']): Promise<void> {
  // Asked first: kafkajs logs a refused CreateTopics as an error even when it only says the
  // topic exists, which every start after the first would otherwise print.
  if (!(await admin.listTopics()).includes(topic)) {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, ...(configEntries ? { configEntries } : {}) }], waitForLeaders: true }).catch((err: Error & { type?: string; retriable?: boolean }) => {
      if (err.type !== 'TOPIC_ALREADY_EXISTS' && err.retriable !== true) throw err;
    });
  }
  for (let attempt = 0; ; attempt++) {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (meta?.topics[0]?.partitions.every((p) => p.leader >= 0)) return;
    if (attempt >= 50) throw new Error(`${what} ${topic} has no partition leader after 10 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
