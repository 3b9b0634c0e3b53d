import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@chaperone/config';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEventBody, decodeRecord, encodeRecord, sessionPartition } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { fixtureSession, testConfig, throwawayDatabase } from '@chaperone/store/testing';
import { createApiClient, type ApiClient } from './client.js';
import { ApiError } from './errors.js';
import { FOLLOW_QUEUE_BYTES, followSession } from './follow.js';
import { startApiServer, type ApiServer } from './server.js';
import { bulkScript, recordScript } from './testing.js';
import { LiveTranscript, TranscriptJsonWriter, buildTranscript } from './transcript/index.js';

// The API on port 0 over a throwaway database on the local stack's ClickHouse.
describe('gRPC API', () => {
  const base = testConfig();
  const db = throwawayDatabase(base.clickhouse, 'chaperone_api_test');
  const a = fixtureSession({ subject: 'agent:a', connection: 'pg-a' });
  const keyFile = join(mkdtempSync(join(tmpdir(), 'chaperone-api-')), 'node.pub.pem');
  writeFileSync(keyFile, a.publicKey.export({ type: 'spki', format: 'pem' }));
  const config: Config = {
    ...base,
    clickhouse: db.config,
    recording: { ...base.recording, trustedNodeKeys: { [a.nodeId]: keyFile } },
    kafka: { ...base.kafka, topic: `chaperone.api-test.${randomBytes(4).toString('hex')}` },
    api: { ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, requireToken: true, socGroups: ['soc'], web: undefined },
    roles: { soc: ['soc'], approver: ['approvers'], admin: ['admins'] },
  };
  const kafka = new Kafka({ clientId: 'api-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  // Partitioned as the gateway does (sessionPartition): follow reads only the session's partition.
  const producer = kafka.producer({ idempotent: true, createPartitioner: () => ({ partitionMetadata, message }) => sessionPartition(String(message.key), partitionMetadata.length) });
  let store: Store;
  let server: ApiServer;
  let client: ApiClient;
  let issuer: TokenIssuer;

  before(async () => {
    store = createStore(db.config);
    await store.migrate();
    await store.insertEvents(a.messages.flatMap((m) => decodeRecord(m)));
    server = await startApiServer(config, { logger: createLogger({ name: 'api-test', level: 'warn' }), followStartWaitMs: 3000 });
    issuer = await TokenIssuer.fromConfig(config.identity);
    client = createApiClient(server.address, { token: await issuer.issue({ subject: 'soc:analyst', groups: ['soc'] }) });
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: 3 }], waitForLeaders: true });
    await producer.connect();
  });

  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
    await admin.disconnect();
    client?.close();
    await server?.stop(1000);
    await db.drop();
    await store?.close();
  });

  it('lists and gets sessions', async () => {
    const list = await client.listSessions({ subject: 'agent:a' });
    assert.deepEqual(list.map((s) => s.sessionId), [a.sessionId]);
    assert.equal(list[0]!.counters.commands, 2);
    assert.equal((await client.listSessions({ subject: 'nobody' })).length, 0);
    const s = await client.getSession(a.sessionId);
    assert.equal(s.connection, 'pg-a');
    assert.equal(s.startedMicros, a.events[0]!.event.tsMicros);
    await assert.rejects(client.getSession('missing'), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND' && /sessions ls/.test(e.message));
  });

  it('replays the stored events, and they rebuild the transcript', async () => {
    const events = [];
    for await (const e of client.replay(a.sessionId)) events.push(e);
    assert.equal(events.length, a.events.length);
    assert.ok(events.every((e, i) => e.seq === i && Buffer.from(e.avro).equals(a.events[i]!.body)));
    const t = buildTranscript(events);
    assert.equal(t.started?.identity.subject, 'agent:a');
    assert.deepEqual(t.commands.map((c) => [c.commandId, c.decision?.result]), [[1, 'ALLOW'], [2, 'DENY']]);
    assert.deepEqual(t.commands[0]!.result.rows, [['1', 'ada@example.com'], ['2', null]]);
    const rest = [];
    for await (const e of client.replay(a.sessionId, { fromSeq: 5 })) rest.push(e.seq);
    assert.equal(rest[0], 5);
    await assert.rejects(async () => {
      for await (const _ of client.replay('missing'));
    }, (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
  });

  it('runs read-only SQL', async () => {
    const r = await client.query('SELECT command_id, decision FROM commands FINAL ORDER BY command_id');
    assert.deepEqual(r.rows, [['1', 'ALLOW'], ['2', 'DENY']]);
    assert.deepEqual(r.columns.map((c) => c.type), ['UInt64', 'String']);
    const capped = await client.query('SELECT number FROM system.numbers LIMIT 10', 2);
    assert.equal(capped.truncated, true);
    assert.equal((await client.query('SELECT NULL AS n')).rows[0]![0], null);
    await assert.rejects(client.query("INSERT INTO events (session_id) VALUES ('x')"), (e: unknown) => e instanceof ApiError && e.code === 'PERMISSION_DENIED');
    await assert.rejects(client.query('SELECT nope FROM events'), (e: unknown) => e instanceof ApiError && e.code === 'INVALID_ARGUMENT');
  });

  it('verifies with the configured node keys', async () => {
    const v = await client.verify(a.sessionId);
    assert.equal(v.status, 'intact', v.detail);
    assert.equal(v.firstBadSeq, undefined);
    await assert.rejects(client.verify('missing'), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
  });

  it('requires a token, and a role for every call: an agent token gets only its own introspection', async () => {
    const agent = createApiClient(server.address, { token: await issuer.issue({ subject: 'agent:x', groups: ['agents'] }) });
    const approver = createApiClient(server.address, { token: await issuer.issue({ subject: 'user:alice', groups: ['approvers'] }) });
    const anonymous = createApiClient(server.address);
    const badToken = createApiClient(server.address, { token: `${await issuer.issue({ subject: 'soc:y', groups: ['soc'] })}x` });
    const denied = (e: unknown) => e instanceof ApiError && e.code === 'PERMISSION_DENIED' && /needs the role/.test(e.message);
    try {
      const me = await agent.whoami();
      assert.equal(me.subject, 'agent:x');
      assert.deepEqual(me.roles, []);
      for (const c of [agent, approver]) {
        await assert.rejects(c.listSessions(), denied);
        await assert.rejects(c.getSession(a.sessionId), denied);
        await assert.rejects(c.query('SELECT 1'), denied);
        await assert.rejects(c.verify(a.sessionId), denied);
        await assert.rejects(async () => {
          for await (const _ of c.replay(a.sessionId));
        }, denied);
      }
      await assert.rejects(agent.listApprovals(), denied);
      await assert.rejects(agent.decideApproval('approval-00000000', true), denied);
      assert.deepEqual((await approver.whoami()).roles, ['approver']);
      await assert.rejects(anonymous.listSessions(), (e: unknown) => e instanceof ApiError && e.code === 'UNAUTHENTICATED' && /requires an identity token/.test(e.message));
      await assert.rejects(badToken.listSessions(), (e: unknown) => e instanceof ApiError && e.code === 'UNAUTHENTICATED');
    } finally {
      agent.close();
      approver.close();
      anonymous.close();
      badToken.close();
    }
  });

  it('follows a session: stored events, then live ones from Kafka until SessionEnded', async () => {
    // Records as gateways publish them: one event each before batches (the first query), then one per publish.
    const live = fixtureSession({ subject: 'agent:live', v1Queries: 1 });
    const send = (records: Buffer[]) => producer.send({ topic: config.kafka.topic, acks: -1, messages: records.map((value) => ({ key: live.sessionId, value })) });
    const first = live.messages.slice(0, -2);
    const early = first.flatMap((m) => decodeRecord(m)).length;
    assert.ok(live.messages.slice(-3).some((m) => decodeRecord(m).length > 1), 'a record of several events comes while we watch');
    // The first 4 events reached the store; the records up to the last two are in Kafka already, the rest arrive while we watch.
    await store.insertEvents(live.messages.flatMap((m) => decodeRecord(m)).slice(0, 4));
    await send(first);
    const seen: { seq: number; at: number }[] = [];
    const watching = (async () => {
      for await (const e of client.replay(live.sessionId, { follow: true })) seen.push({ seq: e.seq, at: Date.now() });
    })();
    const deadline = Date.now() + 20_000;
    while (seen.length < early && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen.map((x) => x.seq), live.events.slice(0, early).map((_, i) => i));
    const sentAt = Date.now();
    await send(live.messages.slice(-2));
    await watching;
    assert.deepEqual(seen.map((x) => x.seq), live.events.map((_, i) => i), 'each event once, in order, ending with SessionEnded');
    const delay = seen.at(-1)!.at - sentAt;
    assert.ok(delay < 1000, `live events took ${delay} ms`);
  });

  it('follows an unknown session: NOT_FOUND after the start wait, but a session starting within it is followed', async () => {
    const started = Date.now();
    await assert.rejects(async () => {
      for await (const _ of client.replay(`missing-${randomBytes(4).toString('hex')}`, { follow: true }));
    }, (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND' && /sessions ls/.test(e.message) && /live/.test(e.message));
    const took = Date.now() - started;
    assert.ok(took >= 2900 && took < 10_000, `answered after ${took} ms`);
    const late = fixtureSession({ subject: 'agent:late' });
    const seqs: number[] = [];
    const watching = (async () => {
      for await (const e of client.replay(late.sessionId, { follow: true })) seqs.push(e.seq);
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await producer.send({ topic: config.kafka.topic, acks: -1, messages: late.messages.map((value) => ({ key: late.sessionId, value })) });
    await watching;
    assert.deepEqual(seqs, late.events.map((_, i) => i));
  });

  it('follows a big live session holding at most FOLLOW_QUEUE_BYTES for a reader that lags', async () => {
    const id = `bulk-live-${randomBytes(4).toString('hex')}`;
    const recorded = recordScript(bulkScript(40, 600, 1000), 'v2', id);
    await producer.send({ topic: config.kafka.topic, acks: -1, messages: recorded.map((e) => ({ key: id, value: encodeRecord([e.avro]) })) });
    const done = new AbortController();
    let queued = 0;
    let peak = 0;
    const follow = followSession({
      kafka: config.kafka, sessionId: id, afterSeq: -1, sinceMs: Date.now() - 60_000, signal: done.signal, log: createLogger({ name: 'follow-test', level: 'warn' }),
      onQueued: (bytes) => ((queued += 1), (peak = Math.max(peak, bytes))),
    });
    try {
      const first = await follow.next();
      assert.equal(first.done, false);
      // The reader stops here: the consumer must stop adding once the queue is full.
      let seen = -1;
      for (let still = 0; still < 5; still = queued === seen ? still + 1 : 0, seen = queued) await new Promise((r) => setTimeout(r, 100));
      const largest = Math.max(...recorded.map((e) => e.payload.length + e.avro.length));
      assert.ok(peak <= FOLLOW_QUEUE_BYTES + largest, `${peak} bytes queued`);
      assert.ok(queued < recorded.length - 1, `${queued} records queued while the reader took one`);
      const seqs = [first.value.seq];
      for await (const e of follow) {
        seqs.push(e.seq);
        if (seqs.length === recorded.length) break;
      }
      assert.deepEqual(seqs, recorded.map((e) => e.seq));
    } finally {
      done.abort();
      await follow.return(undefined);
    }
  });

  it('replays a stored session of multi-message frames: every frame whole, its transcript complete', async () => {
    const id = `bulk-${randomBytes(4).toString('hex')}`;
    const recorded = recordScript(bulkScript(40, 100, 1000), 'v2', id);
    await store.insertEvents(recorded.map((m) => ({ event: decodeEventBody(m.avro), body: m.avro })));
    const live = new LiveTranscript();
    const json = new TranscriptJsonWriter();
    let text = '';
    let doc = '';
    let n = 0;
    for await (const e of client.replay(id)) {
      assert.equal(e.seq, n);
      assert.ok(Buffer.from(e.avro).equals(recorded[n++]!.avro));
      text += live.push(e);
      doc += json.push(e);
    }
    assert.equal(n, recorded.length);
    assert.match(text + live.end(), / {2}50 {2}x{59}…\n {2}… 3950 more rows\n {2}\(SELECT 4000\)\n$/);
    const rows = (JSON.parse(doc + json.end()) as { commands: { result: { rows: string[][] } }[] }).commands[0]!.result.rows;
    assert.equal(rows.length, 4000);
    assert.deepEqual(rows[3999], ['4000', 'x'.repeat(1000)]);
  });

  it('serves health and metrics, and says where it is not', async () => {
    const ops = `http://127.0.0.1:${server.opsAddress!.port}`;
    assert.equal((await fetch(`${ops}/healthz`)).status, 200);
    assert.match(await (await fetch(`${ops}/metrics`)).text(), /chaperone_api_calls_total\{[^}]*method="ListSessions"/);
    const nowhere = createApiClient('127.0.0.1:1', { timeoutMs: 2000 });
    try {
      await assert.rejects(nowhere.listSessions(), (e: unknown) => e instanceof ApiError && e.code === 'UNAVAILABLE' && /chaperone api/.test(e.message));
    } finally {
      nowhere.close();
    }
  });
});
