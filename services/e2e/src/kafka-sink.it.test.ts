/**
 * The gateway's recording producer against the real broker: sessions that pipeline several
 * batches at once (SessionRecorder with maxInFlight > 1) over a KafkaSink with several
 * producers land in Kafka complete, without duplicates and, per session, in sequence order —
 * the order the materializer, `replay --follow` and the hash chain rely on — each publish one
 * record of its session's events, keyed by the session id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '@chaperone/config';
import { decodeRecord, SessionChain, singleFrame, type EventBody } from '@chaperone/events';
import { KafkaSink, SessionRecorder } from '@chaperone/gateway';
import { createLogger, createRegistry } from '@chaperone/observability';
import { loadStack } from './lib/stack.js';

const SESSIONS = 24;
const STATEMENTS = 60;

const frame = (n: number): EventBody => singleFrame('SERVER_TO_CLIENT', 'DataRow', randomBytes(n));

describe('KafkaSink with pipelined sessions (real broker)', { timeout: 120_000 }, () => {
  let config: Config;
  let kafka: Kafka;
  const topic = `chaperone.it-sink.${randomBytes(4).toString('hex')}`;

  before(async () => {
    config = loadConfig(loadStack().CHAPERONE_CONFIG);
    kafka = new Kafka({ clientId: 'it-sink', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
  });

  after(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('keeps every session complete, once and in order', async () => {
    const registry = createRegistry({ service: 'it-sink', node: 'it' });
    const sink = new KafkaSink({ brokers: config.kafka.brokers, clientId: 'it-sink', topic, log: createLogger({ name: 'it-sink', level: 'warn' }), producers: 3, registry });
    await sink.start();
    let expected = 0;
    try {
      await Promise.all(
        Array.from({ length: SESSIONS }, async (_, s) => {
          const rec = new SessionRecorder(new SessionChain(`it-sink-${s}`, 'it'), sink, { ackTimeoutMs: 20_000, lingerMs: 1, maxInFlight: 4 });
          for (let i = 0; i < STATEMENTS; i++) {
            // A statement: its result rows linger (publishes of their own when the linger passes) …
            for (let r = 0; r < 1 + (i % 4); r++) rec.append(frame(20 + ((s * 7 + i) % 300)));
            if (i % 3 === 0) await new Promise((r) => setTimeout(r, 2));
            // … and the next command waits for everything before it.
            rec.append(frame(40));
            await rec.flush();
          }
          expected += rec.nextSeq;
        }),
      );
      const stats = sink.groupStats;
      assert.ok(stats.publishes > stats.requests, `publishes were merged into produce requests (${stats.publishes} into ${stats.requests})`);
      assert.match(await registry.metrics(), /chaperone_kafka_produce_requests_total\{[^}]*\} [1-9]/);
    } finally {
      await sink.stop();
    }

    const seen = new Map<string, number[]>();
    let total = 0;
    let records = 0;
    const misplaced: string[] = [];
    const consumer = kafka.consumer({ groupId: `it-sink-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${total} of ${expected} events came back`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          records++;
          const key = message.key?.toString('utf8');
          for (const { event: e } of decodeRecord(message.value!)) {
            if (e.sessionId !== key) misplaced.push(`${e.sessionId} ${e.seq} in a record keyed ${key}`);
            const list = seen.get(e.sessionId) ?? [];
            list.push(e.seq);
            seen.set(e.sessionId, list);
            total++;
          }
          if (total >= expected) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual(misplaced, [], 'a record holds events of the session it is keyed by');
    assert.ok(records < total, `a publish of several events is one record (${records} records for ${total} events)`);
    assert.equal(seen.size, SESSIONS);
    for (const [id, seqs] of seen) assert.deepEqual(seqs, seqs.map((_, i) => i), `${id}: every event once, in order`);
  });
});
