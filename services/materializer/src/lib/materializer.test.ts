import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord, encodeRecord, loadPublicKey, sessionPartition } from '@chaperone/events';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { fixtureSession, testConfig, throwawayDatabase } from '@chaperone/store/testing';
import { Materializer } from './materializer.js';

// Real Kafka and ClickHouse of the local stack (deploy/local/up --infra-only): a topic, a
// consumer group and a database of the test's own, removed afterwards.
describe('materializer against Kafka and ClickHouse', () => {
  const id = randomBytes(4).toString('hex');
  const base = testConfig();
  const db = throwawayDatabase(base.clickhouse, 'chaperone_mat_test');
  const config: Config = {
    ...base,
    logLevel: 'warn',
    kafka: { ...base.kafka, topic: `chaperone.test.${id}` },
    clickhouse: db.config,
    materializer: { ...base.materializer, groupId: `chaperone-test-${id}`, http: { host: '127.0.0.1', port: 0 }, batchSize: 7, flushIntervalMs: 100 },
  };
  const kafka = new Kafka({ clientId: 'materializer-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  // Partitioned as the gateway does (sessionPartition): the idle sealer computes a session's partition that way.
  const producer = kafka.producer({ idempotent: true, createPartitioner: () => ({ partitionMetadata, message }) => sessionPartition(String(message.key), partitionMetadata.length) });
  // Records of one publish each (a few events), a session whose first statement came as records of
  // one v1 event each (written before batches), and one published whole: a record of more events
  // than one insert holds (batchSize 7), split between inserts.
  const sessions = [fixtureSession(), fixtureSession({ end: 'open' }), fixtureSession({ v1Queries: 1 }), fixtureSession()];
  const records = sessions.map((s, i) => (i === 3 ? [encodeRecord(s.events.map((e) => e.body))] : s.messages));
  const total = sessions.reduce((n, s) => n + s.events.length, 0);
  const recordCount = records.reduce((n, r) => n + r.length, 0);
  let store: Store;

  before(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: 3 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({
      topic: config.kafka.topic,
      acks: -1,
      messages: [
        ...sessions.flatMap((s, i) => records[i]!.map((value) => ({ key: s.sessionId, value }))),
        { key: 'garbage', value: Buffer.from('not an avro single-object message') },
      ],
    });
    store = createStore(db.config);
  });

  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
    await admin.deleteGroups([config.materializer.groupId]).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
    await store.close();
  });

  const count = async (final: boolean) =>
    Number((await store.query(`SELECT count() FROM events${final ? ' FINAL' : ''}`, { readonly: true })).rows[0]![0]);

  async function committedAll(): Promise<boolean> {
    const ends = await admin.fetchTopicOffsets(config.kafka.topic);
    const [committed] = await admin.fetchOffsets({ groupId: config.materializer.groupId, topics: [config.kafka.topic] });
    const at = (partition: number) => committed!.partitions.find((p) => p.partition === partition)?.offset;
    return ends.every((e) => e.high === '0' || at(e.partition) === e.high);
  }

  async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function runOnce(cfg: Config = config): Promise<Materializer> {
    const m = new Materializer({ config: cfg, logger: createLogger({ name: 'materializer-test', level: 'warn' }), sealSweepMs: 200 });
    await m.start();
    try {
      assert.equal(m.state, 'running');
      await until('every offset committed', committedAll);
    } catch (err) {
      await m.stop();
      throw err;
    }
    return m;
  }

  it('materializes every event of every record, skips a bad record, commits, and serves health and metrics', async () => {
    assert.ok(sessions[3]!.events.length > config.materializer.batchSize);
    const m = await runOnce();
    try {
      assert.equal(await count(true), total);
      const base = `http://127.0.0.1:${m.opsAddress!.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, new RegExp(`chaperone_materializer_events_total\\{[^}]*\\} ${total}\\b`));
      assert.match(metrics, new RegExp(`chaperone_materializer_records_total\\{[^}]*\\} ${recordCount}\\b`));
      assert.match(metrics, /chaperone_materializer_decode_errors_total\{[^}]*code="BAD_MAGIC"[^}]*\} 1\b/);
      assert.match(metrics, /chaperone_materializer_insert_seconds_count/);
      assert.match(metrics, /chaperone_materializer_consumer_lag\{[^}]*\} 0\b/);
    } finally {
      await m.stop();
    }
    assert.equal(m.state, 'stopped');
    const listed = await store.listSessions();
    assert.equal(listed.length, sessions.length);
    for (const s of [sessions[0]!, sessions[2]!, sessions[3]!]) assert.equal((await store.verifySession(s.sessionId, s.trustedKeys)).status, 'intact');
  });

  it('shows each event once after the same messages are consumed again', async () => {
    await admin.resetOffsets({ groupId: config.materializer.groupId, topic: config.kafka.topic, earliest: true });
    assert.equal(await committedAll(), false);
    const m = await runOnce();
    const metrics = await m.registry.getSingleMetricAsString('chaperone_materializer_events_total');
    const recordMetrics = await m.registry.getSingleMetricAsString('chaperone_materializer_records_total');
    await m.stop();
    assert.match(metrics, new RegExp(`\\} ${total}\\b`), 'every event was written again');
    assert.match(recordMetrics, new RegExp(`\\} ${recordCount}\\b`), 'every record was consumed again');
    // Background merges may already have collapsed the copies; FINAL collapses whatever is left.
    assert.ok((await count(false)) >= total);
    assert.equal(await count(true), total, 'FINAL shows each once');
    assert.equal((await store.listSessions()).length, sessions.length);
    const cmds = await store.query('SELECT count() FROM commands FINAL', { readonly: true });
    assert.equal(Number(cmds.rows[0]![0]), 2 * sessions.length);
  });

  it('seals a session that never ended once it is idle, and verify reports it incomplete', async () => {
    const open = sessions[1]!;
    const idleConfig: Config = { ...config, materializer: { ...config.materializer, idleTimeoutMs: 1000 } };
    const m = await runOnce(idleConfig);
    try {
      await until('the open session sealed incomplete', async () => (await store.getSession(open.sessionId)).state === 'incomplete', 15_000);
    } finally {
      await m.stop();
    }
    assert.equal((await store.getSession(sessions[0]!.sessionId)).state, 'sealed', 'ended sessions are left alone');
    const seal = await store.incompleteSeal(open.sessionId);
    assert.equal(seal?.lastSeq, open.events.length - 1);
    assert.equal(seal?.sealedBy, config.nodeId);
    const keys = { ...open.trustedKeys, [config.nodeId]: loadPublicKey(config.materializer.sealKeyFile) };
    const v = await store.verifySession(open.sessionId, keys);
    assert.deepEqual([v.status, v.sealedIncomplete], ['incomplete', true], v.detail);
  });

  it('holds a partition at a record of an unknown (newer) schema: nothing past it is written, skipped or committed', async () => {
    // A rolling upgrade that reaches the gateways first: their records carry a fingerprint this
    // build does not know. Skipping them would lose events; the partition waits instead.
    const s = fixtureSession();
    const k = 2;
    const newer = Buffer.from(s.messages[k]!);
    newer[2] = newer[2]! ^ 0xff; // the first byte of the schema fingerprint (after the 0xC3 0x01 marker)
    const before = s.messages.slice(0, k).reduce((n, m) => n + decodeRecord(m).length, 0);
    const partition = sessionPartition(s.sessionId, 3);
    const [sent] = await producer.send({
      topic: config.kafka.topic,
      acks: -1,
      messages: [...s.messages.slice(0, k), newer, ...s.messages.slice(k)].map((value) => ({ key: s.sessionId, value })),
    });
    const heldAt = Number(sent!.baseOffset) + k;
    const m = new Materializer({ config, logger: createLogger({ name: 'materializer-test', level: 'silent' }), sealSweepMs: 200 });
    await m.start();
    try {
      const base = `http://127.0.0.1:${m.opsAddress!.port}`;
      await until('the partition held, said on /healthz', async () => (await fetch(`${base}/healthz`)).status === 503);
      const health = (await (await fetch(`${base}/healthz`)).json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      assert.equal(health.checks.schemas?.ok, false);
      assert.match(health.checks.schemas?.detail ?? '', new RegExp(`partition ${partition} held at offset ${heldAt}: .*upgrade the materializer`));
      const written = async () => Number((await store.query(`SELECT count() FROM events FINAL WHERE session_id = '${s.sessionId}'`, { readonly: true })).rows[0]![0]);
      await until('the records before it written', async () => (await written()) === before);
      const [committed] = await admin.fetchOffsets({ groupId: config.materializer.groupId, topics: [config.kafka.topic] });
      assert.equal(Number(committed!.partitions.find((p) => p.partition === partition)!.offset), heldAt, 'committed up to the held record, not past it');
      assert.match(await m.registry.getSingleMetricAsString('chaperone_materializer_decode_errors_total'), /code="UNKNOWN_SCHEMA"[^}]*\} 1\b/);
      assert.equal(await written(), before, 'nothing after the held record');
    } finally {
      await m.stop();
    }
  });
});
