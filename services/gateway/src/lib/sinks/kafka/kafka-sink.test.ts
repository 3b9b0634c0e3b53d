import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord, SessionChain, sessionPartition, singleFrame, type ChainedEvent } from '@chaperone/events';
import { createLogger, createRegistry } from '@chaperone/observability';
import { KafkaSink } from './kafka-sink.js';
import { stackConfig } from '../../testing/stack-config.js';

// The real Kafka broker of the local stack, on a topic of the test's own, deleted afterwards.
describe('KafkaSink against the real broker', { timeout: 60_000 }, () => {
  const config = stackConfig();
  const topic = `chaperone.test-sink.${randomBytes(4).toString('hex')}`;
  const kafka = new Kafka({ clientId: 'sink-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();

  before(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  });

  after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('by default merges the publishes of many sessions in one event-loop turn into one produce request, each its own record on its session partition', async () => {
    const sink = new KafkaSink({ brokers: config.kafka.brokers, clientId: 'sink-test', topic, log: createLogger({ name: 'sink-test', level: 'warn' }), registry: createRegistry({ service: 'sink-test' }) });
    await sink.start();
    const sessions = Array.from({ length: 20 }, (_, i) => `sink-test-${i}-${randomBytes(4).toString('hex')}`);
    try {
      const chained = (id: string): ChainedEvent[] => {
        const chain = new SessionChain(id, 'test');
        return [chain.append(singleFrame('SERVER_TO_CLIENT', 'DataRow', randomBytes(40))), chain.append(singleFrame('SERVER_TO_CLIENT', 'CommandComplete', randomBytes(12)))];
      };
      // Warm: the first send fetches metadata and the producer id.
      await sink.publish('warm-up', chained('warm-up'));
      const before = sink.groupStats;
      await Promise.all(sessions.map((id) => sink.publish(id, chained(id))));
      assert.deepEqual({ requests: sink.groupStats.requests - before.requests, publishes: sink.groupStats.publishes - before.publishes }, { requests: 1, publishes: 20 });
    } finally {
      await sink.stop();
    }
    const consumer = kafka.consumer({ groupId: `sink-test-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    const seen = new Map<string, number>();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: ({ partition, message }) => {
              const key = message.key!.toString();
              assert.equal(message.headers && Object.keys(message.headers).length, 0, 'no headers');
              assert.equal(decodeRecord(message.value!).length, 2, 'one record per publish, both events in it');
              seen.set(key, partition);
              if (sessions.every((s) => seen.has(s))) resolve();
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    for (const s of sessions) assert.equal(seen.get(s), sessionPartition(s, 6), `${s} on its session partition`);
  });
});
