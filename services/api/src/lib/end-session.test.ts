import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { Config } from '@chaperone/config';
import { decodeRecord, decodeSessionControl, type EndSessionOrder } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger, type Logger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { fixtureSession, testConfig, throwawayDatabase } from '@chaperone/store/testing';
import { createApiClient } from './client.js';
import { ApiError } from './errors.js';
import { startApiServer, type ApiServer } from './server.js';
import { CSRF_HEADER } from './web.js';

/** The API's logger, with every warn line (the audit lines) kept for the test to read. */
function auditedLogger(): { log: Logger; audit: Record<string, unknown>[] } {
  const audit: Record<string, unknown>[] = [];
  const base = createLogger({ name: 'end-session-test', level: 'warn' });
  const log = Object.create(base) as Logger;
  log.warn = ((obj: unknown, msg?: string) => {
    if (typeof obj === 'object' && obj !== null) audit.push({ ...(obj as Record<string, unknown>), msg });
  });
  return { log, audit };
}

// EndSession over gRPC and REST against a throwaway database and a cancel topic of its own on the
// local stack's Kafka; the test plays the gateway node: it reads the order and stores the end.
describe('EndSession', () => {
  const base = testConfig();
  const db = throwawayDatabase(base.clickhouse, 'chaperone_end_session_test');
  const grpcSession = fixtureSession({ subject: 'agent:e1', connection: 'pg-e' });
  const restSession = fixtureSession({ subject: 'agent:e2', connection: 'pg-e' });
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-end-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const config: Config = {
    ...base,
    nodeId: 'api-test-1',
    clickhouse: db.config,
    kafka: { ...base.kafka, cancelTopic: `chaperone.end-session-test.${randomBytes(4).toString('hex')}` },
    api: {
      ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, requireToken: true,
      web: { listen: { host: '127.0.0.1', port: 0 }, tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } },
    },
    roles: { soc: ['soc'], approver: ['approvers'], admin: ['admins'] },
    login: base.login && { ...base.login, consoleClientId: undefined },
  };
  const kafka = new Kafka({ clientId: 'end-session-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  let consumer: Consumer;
  const orders: EndSessionOrder[] = [];
  const { log, audit } = auditedLogger();
  let store: Store;
  let server: ApiServer;
  let issuer: TokenIssuer;

  const rest = (path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1', port: server.webAddress!.port, path, method: 'POST', ca: readFileSync(join(dir, 'cert.pem')),
          headers: { 'content-type': 'application/json', [CSRF_HEADER]: '1', authorization: `Bearer ${token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  before(async () => {
    store = createStore(db.config);
    await store.migrate();
    // Both sessions open: everything but their SessionEnded is stored.
    for (const s of [grpcSession, restSession]) await store.insertEvents(s.messages.slice(0, -1).flatMap((m) => decodeRecord(m)));
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.kafka.cancelTopic, numPartitions: 1 }], waitForLeaders: true });
    // The gateway node's part: read the order, end the session (its SessionEnded reaches the store).
    consumer = kafka.consumer({ groupId: `end-session-test-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.kafka.cancelTopic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const order = decodeSessionControl(message.value?.toString() ?? '');
        if (order?.kind !== 'end-session') return;
        orders.push(order);
        const s = [grpcSession, restSession].find((x) => x.sessionId === order.sessionId);
        if (s) await store.insertEvents(decodeRecord(s.messages.at(-1)!));
      },
    });
    server = await startApiServer(config, { logger: log });
    issuer = await TokenIssuer.fromConfig(config.identity);
  });

  after(async () => {
    await server?.stop(1000);
    await consumer?.disconnect();
    await admin.deleteTopics({ topics: [config.kafka.cancelTopic] }).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
    await store?.close();
  });

  it('is refused to everyone but an admin, over gRPC and REST, and then publishes nothing', async () => {
    const socToken = await issuer.issue({ subject: 'user:sam', groups: ['soc'] });
    const soc = createApiClient(server.address, { token: socToken });
    try {
      await assert.rejects(soc.endSession(grpcSession.sessionId, 'no'), (e: unknown) => e instanceof ApiError && e.code === 'PERMISSION_DENIED' && /admin/.test(e.message));
    } finally {
      soc.close();
    }
    const answer = await rest(`/api/v1/sessions/${restSession.sessionId}/end`, socToken, { reason: 'no' });
    assert.equal(answer.status, 403);
    assert.equal((answer.json.error as { code: string }).code, 'PERMISSION_DENIED');
    assert.equal((await store.getSession(grpcSession.sessionId)).ended, false);
    assert.equal(audit.filter((l) => l.audit === 'end-session').length, 0);
  });

  it('over gRPC: publishes the order on the cancel topic, audits who and why, answers once the end is stored', async () => {
    const adminClient = createApiClient(server.address, { token: await issuer.issue({ subject: 'user:adam', groups: ['admins'] }) });
    try {
      const s = await adminClient.endSession(grpcSession.sessionId, '  leaked credentials ');
      assert.equal(s.sessionId, grpcSession.sessionId);
      assert.equal(s.ended, true);
      const order = orders.find((o) => o.sessionId === grpcSession.sessionId);
      assert.ok(order);
      assert.equal(order.by, 'user:adam');
      assert.equal(order.reason, 'leaked credentials');
      assert.equal(order.from, 'api:api-test-1');
      const lines = audit.filter((l) => l.audit === 'end-session' && l.session === grpcSession.sessionId);
      assert.deepEqual(lines.map((l) => [l.by ?? '', l.msg]), [['user:adam', 'an administrator asked to end a session'], ['user:adam', 'session ended']]);
      assert.equal(lines[0]!.reason, 'leaked credentials');
      assert.equal(lines[0]!.node, grpcSession.nodeId);
      // Ended is ended: a second order is refused before anything is published.
      const published = orders.length;
      await assert.rejects(adminClient.endSession(grpcSession.sessionId, 'again'), (e: unknown) => e instanceof ApiError && e.code === 'FAILED_PRECONDITION');
      await assert.rejects(adminClient.endSession('no-such-session', 'x'), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
      assert.equal(orders.length, published);
    } finally {
      adminClient.close();
    }
  });

  it('over REST: the same operation, with the console\'s CSRF header', async () => {
    const token = await issuer.issue({ subject: 'user:adam', groups: ['admins'] });
    const answer = await rest(`/api/v1/sessions/${restSession.sessionId}/end`, token, { reason: 'done here' });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.sessionId, restSession.sessionId);
    assert.equal(answer.json.ended, true);
    const order = orders.find((o) => o.sessionId === restSession.sessionId);
    assert.ok(order && order.by === 'user:adam' && order.reason === 'done here');
    assert.ok(audit.some((l) => l.audit === 'end-session' && l.session === restSession.sessionId && l.msg === 'session ended'));
  });
});
