import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import type { Logger } from '@chaperone/observability';
import { kafkaClientOptions, noDelaySocketFactory } from './kafka-client.js';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Collects what reaches the logger, by level. */
function collectingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger };
}

describe('kafkaClientOptions', () => {
  it('names the client by role, keeps the brokers, turns Nagle off and picks the retry policy', () => {
    const o = kafkaClientOptions({ clientId: 'chaperone', brokers: ['a:9092', 'b:9092'] }, { role: 'cancel', retry: 'bounded' });
    assert.equal(o.clientId, 'chaperone-cancel');
    assert.deepEqual(o.brokers, ['a:9092', 'b:9092']);
    assert.equal(o.socketFactory, noDelaySocketFactory);
    assert.deepEqual(o.retry, { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 });
    assert.deepEqual(kafkaClientOptions({ clientId: 'c', brokers: [] }).retry, { retries: 5 }, "kafkajs' own backoff by default");
    assert.equal(kafkaClientOptions({ clientId: 'c', brokers: [] }).logLevel, logLevel.NOTHING, 'no logger: kafkajs logs nothing');
  });

  it('connects through the no-delay socket factory', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        // kafkajs passes no ssl options for a plaintext cluster.
        const socket = noDelaySocketFactory({ host: '127.0.0.1', port, onConnect: () => (socket.destroy(), resolve()) } as Parameters<ISocketFactory>[0]);
        socket.on('error', reject);
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("bridges kafkajs' log lines into the logger at their own level, naming the client", async () => {
    const { lines, log } = collectingLogger();
    const kafka = new Kafka(kafkaClientOptions({ clientId: 'chaperone', brokers: [`127.0.0.1:${await closedPort()}`] }, { role: 'test', log, retry: 'bounded' }));
    const admin = kafka.admin({ retry: { retries: 0 } });
    await assert.rejects(admin.connect());
    const errors = lines.filter((l) => l.level === 'error');
    assert.ok(errors.length > 0, JSON.stringify(lines));
    assert.equal(errors[0]!.fields.kafkaClient, 'chaperone-test');
    assert.equal(typeof errors[0]!.fields.kafka, 'string', "kafkajs' namespace");
    assert.ok(errors[0]!.message.length > 0);
  });
});
