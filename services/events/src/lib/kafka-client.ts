import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { logLevel, type ISocketFactory, type KafkaConfig, type logCreator, type RetryOptions } from 'kafkajs';
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
