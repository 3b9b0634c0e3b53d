import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@chaperone/config';
import { decodeEvent } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { fixtureSession, testConfig, throwawayDatabase } from '@chaperone/store/testing';
import { createApiClient, type ApiClient } from './client.js';
import { ApiError } from './errors.js';
import { startApiServer, type ApiServer } from './server.js';
import { buildTranscript } from './transcript/index.js';

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
    api: { listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } },
  };
  let store: Store;
  let server: ApiServer;
  let client: ApiClient;

  before(async () => {
    store = createStore(db.config);
    await store.migrate();
    await store.insertEvents(a.messages.map((m) => decodeEvent(m)));
    server = await startApiServer(config, { logger: createLogger({ name: 'api-test', level: 'warn' }) });
    client = createApiClient(server.address);
  });

  after(async () => {
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
    for await (const e of client.replay(a.sessionId, 5)) rest.push(e.seq);
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

  it('verifies a bearer token when one is sent', async () => {
    const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject: 'soc:analyst' });
    const withToken = createApiClient(server.address, { token });
    const badToken = createApiClient(server.address, { token: `${token}x` });
    try {
      assert.equal((await withToken.listSessions()).length, 1);
      await assert.rejects(badToken.listSessions(), (e: unknown) => e instanceof ApiError && e.code === 'UNAUTHENTICATED');
    } finally {
      withToken.close();
      badToken.close();
    }
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
