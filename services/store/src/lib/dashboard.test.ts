/**
 * The dashboard's aggregations on the local stack's ClickHouse server (18.16) and on the embedded
 * engine (chdb, a current ClickHouse), over sessions
 * recorded at known minutes of an hour: buckets, totals, top identities and denied commands, and
 * that a redelivered batch counts once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionChain, decodeRecord, encodeRecord, type EventBody } from '@chaperone/events';
import { fixtureSession, messagesFrame, pgDataRow, pgReadyForQuery, pgRowDescription, throwawayDatabase } from '../testing.js';
import { createHttpExecutor } from './clickhouse.js';
import { createChdbExecutor } from './chdb.js';
import { storeOn, type Store } from './store.js';

const MINUTE = 60_000_000;

function suite(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`dashboard aggregations on ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const since = (Math.floor(Date.now() / 60_000) - 59) * MINUTE;
    const range = { sinceMicros: since, untilMicros: since + 60 * MINUTE, bucketMicros: MINUTE };
    const at = (minute: number) => since + minute * MINUTE + 1_000_000;

    before(async () => {
      ({ store, cleanup } = await create());
      await store.migrate();
      const sessions = [
        // Each: one allowed SELECT, one denied DELETE (the fixture's default queries).
        fixtureSession({ subject: 'agent:d1', startMicros: at(2) }),
        fixtureSession({ subject: 'agent:d1', startMicros: at(2) }),
        fixtureSession({ subject: 'agent:d2', startMicros: at(10), queries: [{ sql: 'SELECT 1' }, { sql: 'DROP TABLE t', decision: 'DENY' }, { sql: 'UPDATE t SET a = 1', decision: 'APPROVAL' }] }),
        // Before the range: counted nowhere.
        fixtureSession({ subject: 'agent:old', startMicros: since - 10 * MINUTE }),
      ];
      let t = at(30);
      const chain = new SessionChain('dash-masked', 'gw-test-1', () => (t += 1000));
      const bodies: EventBody[] = [
        {
          type: 'SessionStarted', connection: 'prod-pg', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: true,
          identity: { subject: 'agent:d3', issuer: 'chaperone', groups: ['agents'], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
        },
        {
          ...messagesFrame('SERVER_TO_CLIENT', [['RowDescription', pgRowDescription(['email'])], ['DataRow', pgDataRow(['[MASKED:email]'])], ['ReadyForQuery', pgReadyForQuery()]]),
          masks: [{ detector: 'email', location: 'column email', count: 3 }],
        },
      ];
      const masked = encodeRecord(bodies.map((b) => chain.append(b).body));
      const records = [...sessions.flatMap((s) => s.messages), masked];
      await store.insertEvents(records.flatMap((m) => decodeRecord(m)));
      // A redelivered batch: the same events again, which must not count twice.
      await store.insertEvents([...sessions[0]!.messages, masked].flatMap((m) => decodeRecord(m)));
    });

    after(async () => cleanup?.());

    it('counts sessions, commands, denials, approvals and masked values per bucket', async () => {
      const d = await store.dashboard(range);
      assert.equal(d.buckets.length, 60);
      assert.equal(d.buckets[0]!.startMicros, since);
      const nonZero = d.buckets.map((b, i) => ({ i, ...b })).filter((b) => b.sessions + b.commands + b.masked > 0).map(({ startMicros: _, ...b }) => b);
      assert.deepEqual(nonZero, [
        { i: 2, sessions: 2, commands: 4, denied: 2, approvals: 0, masked: 0 },
        { i: 10, sessions: 1, commands: 3, denied: 1, approvals: 1, masked: 0 },
        { i: 30, sessions: 1, commands: 0, denied: 0, approvals: 0, masked: 3 },
      ]);
      assert.deepEqual(d.totals, { sessions: 4, commands: 7, denied: 3, approvals: 1, masked: 3 });
    });

    it('ranks identities by sessions and denied commands by how often, within the range only', async () => {
      const d = await store.dashboard(range);
      assert.deepEqual(d.topIdentities, [
        { subject: 'agent:d1', sessions: 2, commands: 4, denied: 2 },
        { subject: 'agent:d2', sessions: 1, commands: 3, denied: 1 },
        { subject: 'agent:d3', sessions: 1, commands: 0, denied: 0 },
      ]);
      assert.deepEqual(d.topDenied.map(({ lastMicros: _, ...r }) => r), [
        { text: 'DELETE FROM customers', action: 'DELETE', count: 2, identities: 1 },
        { text: 'DROP TABLE t', action: 'DROP', count: 1, identities: 1 },
      ]);
      assert.ok(d.newestEventMicros >= at(30), 'the newest event is the masked session\'s');
    });

    it('refuses a range that is not whole buckets or has too many', async () => {
      await assert.rejects(store.dashboard({ ...range, bucketMicros: 7 * MINUTE }), /whole buckets/);
      await assert.rejects(store.dashboard({ ...range, bucketMicros: 1000 }), /1\.\.1000 whole buckets/);
      await assert.rejects(store.dashboard({ ...range, sinceMicros: -1 }), /non-negative integer/);
    });
  });
}

suite('the ClickHouse server', () => {
  const db = throwawayDatabase(undefined, 'chaperone_dash_test');
  const store = storeOn(createHttpExecutor(db.config));
  return Promise.resolve({ store, cleanup: async () => (await db.drop(), await store.close()) });
});

suite('embedded chdb', async () => {
  const store = storeOn(await createChdbExecutor({ database: 'chaperone_dash' }));
  return { store, cleanup: () => store.close() };
});
