import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';

/** As the gateway's KafkaSink: without TCP_NODELAY small produce requests meet delayed ACKs. */
const noDelay: ISocketFactory = ({ host, port, onConnect }) => connect({ host, port, noDelay: true }, onConnect);

/**
 * The floor record-before-forward puts under every statement: one acknowledged produce of a
 * small message as the gateway sends it (kafkajs, idempotent producer, acks=all), measured
 * `n` times in a row on a topic of its own that is deleted afterwards.
 */
export async function kafkaAckFloor(brokers: string[], n = 200): Promise<{ p50Us: number; meanUs: number }> {
  const kafka = new Kafka({ clientId: 'bench-pgbench', brokers, socketFactory: noDelay, logLevel: logLevel.NOTHING });
  const topic = `chaperone.bench-pgbench.${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    const value = randomBytes(300);
    const samples: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t0 = process.hrtime.bigint();
      await producer.send({ topic, acks: -1, messages: [{ key: 'bench', value }] });
      // The first sends open connections and fetch metadata.
      if (i >= 20) samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    samples.sort((a, b) => a - b);
    return { p50Us: samples[samples.length >> 1]!, meanUs: samples.reduce((a, b) => a + b, 0) / samples.length };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
