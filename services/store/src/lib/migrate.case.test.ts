/**
 * The migration conformance suite, run on every engine (ClickHouse server, embedded chdb):
 * migration 004 rebuilds `events` (index_granularity 64, event_bytes) and takes its name, and a
 * run cut off at any statement resumes to the same end state, keeping every stored row and every
 * row written meanwhile.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, frameMessages } from '@chaperone/events';
import { fixtureSession, type FixtureSession } from '../testing.js';
import type { Executor } from './executor.js';
import { loadMigrations, migrate } from './migrate.js';
import { EVENT_COLUMNS, toEventRow } from './rows.js';
import { storeOn } from './store.js';
import { StoreError } from './errors.js';

export interface EngineTarget {
  /** An executor on a database of this name (created by migrate), on the engine under test. */
  executor(database: string): Promise<Executor>;
  /** Closes the executors and drops what the suite created. */
  cleanup(): Promise<void>;
}

const M004 = loadMigrations().find((m) => m.version === '004')!;
const BEFORE_004 = loadMigrations().filter((m) => m.version < '004');
const TABLES = [
  'commands', 'commands_by_subject', 'commands_by_subject_mv', 'commands_daily', 'commands_daily_mv', 'commands_per_day', 'events',
  'frame_commands', 'frame_messages', 'schema_migration_steps', 'schema_migrations', 'session_seals', 'sessions',
];
const decoded = (f: FixtureSession) => f.messages.flatMap((m) => decodeRecord(m));

/** The engine, except that `statement` never returns: it fails before running, or after it ran (before migrate records it). */
function cutOff(exec: Executor, statement: string, ran: boolean): Executor {
  return {
    database: exec.database,
    describe: exec.describe,
    async command(sql, opts) {
      if (sql !== statement) return exec.command(sql, opts);
      if (ran) await exec.command(sql, opts);
      throw new Error(`cut off ${ran ? 'after' : 'before'}: ${sql.slice(0, 40)}`);
    },
    select: (sql) => exec.select(sql),
    selectBinary: (sql) => exec.selectBinary(sql),
    insert: (table, columns, rows) => exec.insert(table, columns, rows),
    text: (sql, opts) => exec.text(sql, opts),
    ping: () => exec.ping(),
    close: () => exec.close(),
  };
}

export function runMigrationSuite(name: string, create: () => Promise<EngineTarget>): void {
  describe(`migration 004 conformance: ${name}`, () => {
    let target: EngineTarget | undefined;
    let n = 0;
    after(async () => target?.cleanup());

    /** A database at migration 003 holding a session stored twice (a redelivery) and one with a forged row next to a genuine one. */
    async function before004() {
      target ??= await create();
      const exec = await target.executor(`chaperone_m004_${n++}`);
      const store = storeOn(exec);
      await migrate(exec, BEFORE_004);
      const a = fixtureSession({ v1Queries: 1 });
      const forged = fixtureSession();
      await store.insertEvents(decoded(a));
      await store.insertEvents(decoded(a));
      await store.insertEvents(decoded(forged));
      const victim = forged.events[4]!;
      await exec.insert('events', EVENT_COLUMNS, [{ ...toEventRow(victim.event, victim.body, victim.hash), payload: Buffer.from('forged') }]);
      return { exec, store, a, forged, victim: victim.event.seq };
    }

    /** What every completed run leaves: the new table under its name, every row and view as before, nothing else. */
    async function assertMigrated(s: Awaited<ReturnType<typeof before004>>, also: FixtureSession[] = []) {
      const db = s.exec.database;
      const tables = await s.exec.select<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`);
      assert.deepEqual(tables.map((t) => t.name), TABLES);
      const [events] = await s.exec.select<{ engine_full: string }>(`SELECT engine_full FROM system.tables WHERE database = '${db}' AND name = 'events'`);
      assert.match(events!.engine_full, /index_granularity = 64\b/);
      for (const f of [s.a, ...also]) {
        const stored = await s.store.sessionEvents(f.sessionId);
        assert.deepEqual(stored.map((e) => e.avro.toString('hex')), f.events.map((e) => e.body.toString('hex')), `${f.sessionId} read back as recorded`);
        assert.equal((await s.store.verifySession(f.sessionId, f.trustedKeys)).status, 'intact');
        const [sizes] = await s.exec.select<{ n: string; zero: string }>(`SELECT count() AS n, countIf(event_bytes = 0) AS zero FROM ${db}.events WHERE session_id = '${f.sessionId}'`);
        assert.equal(Number(sizes!.zero), 0, 'event_bytes computed for every row, copied or mirrored');
      }
      // Every stored copy was copied (no FINAL): the forged row is still found where it was.
      const v = await s.store.verifySession(s.forged.sessionId, s.forged.trustedKeys);
      assert.deepEqual([v.status, v.firstBadSeq], ['broken', s.victim], v.detail);
      const messages = await s.store.query(`SELECT count() FROM frame_messages WHERE session_id = '${s.a.sessionId}'`, { readonly: true });
      const expected = s.a.events.reduce((sum, e) => sum + (e.event.body.type === 'Frame' ? frameMessages(e.event.body).length : 0), 0);
      assert.deepEqual(messages.rows, [[String(expected)]], 'frame_messages reads the new table, each event once');
      assert.deepEqual((await s.store.migrate()).applied, []);
    }

    it('rebuilds events with index_granularity 64 and event_bytes, keeping every row', async () => {
      const s = await before004();
      assert.deepEqual((await s.store.migrate()).applied, ['004_events_granularity.sql', '005_command_decisions.sql', '006_frame_commands.sql']);
      await assertMigrated(s);
      const [row] = await s.exec.select<{ b: string }>(`SELECT sum(event_bytes) AS b FROM ${s.exec.database}.events FINAL WHERE session_id = '${s.a.sessionId}'`);
      const expected = s.a.events.reduce((sum, e) => sum + e.body.length + (e.event.body.type === 'Frame' ? e.event.body.bytes.length : 0), 0);
      assert.equal(Number(row!.b), expected);
    });

    it('resumes a run cut off before or after any of its statements, to the same end', async () => {
      for (const [step, statement] of M004.statements.entries())
        for (const ran of [false, true]) {
          const s = await before004();
          await assert.rejects(migrate(cutOff(s.exec, statement, ran)), /cut off/, `statement ${step + 1}`);
          const report = await s.store.migrate();
          assert.deepEqual(report.applied, ['004_events_granularity.sql', '005_command_decisions.sql', '006_frame_commands.sql'], `statement ${step + 1}, ran: ${ran}`);
          await assertMigrated(s);
        }
    });

    it('keeps rows written while it runs: an insert before the swap reaches both tables, one during it fails and is retried', async () => {
      const s = await before004();
      const copy = M004.statements.findIndex((x) => x.startsWith('INSERT INTO events_004'));
      await assert.rejects(migrate(cutOff(s.exec, M004.statements[copy]!, false)), /cut off/);
      const during = fixtureSession();
      await s.store.insertEvents(decoded(during)); // mirrored into the new table
      const swap = M004.statements.indexOf('RENAME TABLE events TO events_003');
      await assert.rejects(migrate(cutOff(s.exec, M004.statements[swap]!, true)), /cut off/);
      const retried = fixtureSession();
      await assert.rejects(s.store.insertEvents(decoded(retried)), (e: unknown) => e instanceof StoreError && e.engineCode === 60);
      await s.store.migrate();
      await s.store.insertEvents(decoded(retried));
      await assertMigrated(s, [during, retried]);
    });

    it('drops the old table only once events is certainly the new one', async () => {
      const s = await before004();
      // Cut off after the first RENAME, then someone puts the old table back under its name.
      const mirrorDrop = M004.statements.indexOf('DROP TABLE IF EXISTS events_004_mirror');
      await assert.rejects(migrate(cutOff(s.exec, M004.statements[mirrorDrop]!, false)), /cut off/);
      await s.exec.command(`RENAME TABLE ${s.exec.database}.events_003 TO ${s.exec.database}.events`);
      await assert.rejects(s.store.migrate(), (e: unknown) => e instanceof StoreError && /004_events_granularity\.sql, statement \d+: .*throwIf/.test(e.message));
      assert.equal((await s.store.sessionEvents(s.a.sessionId)).length, s.a.events.length, 'the old table is still there');
    });

    it('pages by bytes before it is applied too (an API updated before its materializer migrated)', async () => {
      const s = await before004();
      const sizes = s.a.events.map((e) => e.body.length + (e.event.body.type === 'Frame' ? e.event.body.bytes.length : 0));
      const page = await s.store.eventRange(s.a.sessionId, 0, 100, { maxBytes: sizes[0]! + sizes[1]! + sizes[2]! });
      assert.deepEqual(page.map((e) => e.seq), [0, 1, 2]);
    });
  });
}
