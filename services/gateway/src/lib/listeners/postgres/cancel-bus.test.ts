import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '@chaperone/observability';
import { stackConfig } from '../../testing/stack-config.js';
import { KafkaCancelBus } from './cancel-bus.js';

// The real Kafka broker of the local stack, on a topic of the test's own, deleted afterwards.
describe('KafkaCancelBus against the real broker', { timeout: 60_000 }, () => {
  const config = stackConfig();
  const topic = `chaperone.test-cancel.${randomBytes(4).toString('hex')}`;
  const log = createLogger({ name: 'cancel-bus-test', level: 'silent' });
  const buses = ['gw-a', 'gw-b'].map((nodeId) => new KafkaCancelBus({ brokers: config.kafka.brokers, clientId: `cancel-test-${nodeId}`, topic, nodeId, log }));

  after(async () => {
    await Promise.all(buses.map((b) => b.stop()));
    const admin = new Kafka({ clientId: 'cancel-test-admin', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('two nodes starting at once on a topic nobody made yet both start, and a cancel from one reaches the other', async () => {
    // Both create the topic at the same moment: one of them sees "already exists" or "does not
    // host this topic-partition" from its creation, which must not fail its start.
    await Promise.all(buses.map((b) => b.start()));
    const key = randomBytes(8).toString('hex');
    const seen = new Promise<string>((resolve) => buses[1]!.onCancel(resolve));
    // The consumer starts at the end of the topic: publish until the other node has joined.
    let got: string | undefined;
    void seen.then((k) => (got = k));
    for (let i = 0; i < 100 && got === undefined; i++) {
      await buses[0]!.publish(key);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await seen, key);
  });
});
