/**
 * The store conformance suite: every engine the store runs on (ClickHouse server, embedded
 * chdb) passes the same cases through `runSuite`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chainHash, decodeEventBody, decodeRecord, encodeEventBody, frameMessages, type Frame, type SessionEvent } from '@chaperone/events';
import { fixtureSession, type FixtureSession } from '../testing.js';
import type { Executor } from './executor.js';
import { loadMigrations, migrate } from './migrate.js';
import { EVENT_COLUMNS, toEventRow } from './rows.js';
import type { Store } from './store.js';
import { SessionNotFoundError, StoreError } from './errors.js';
import { signIncompleteSeal } from './seal.js';

export interface SuiteTarget {
  store: Store;
  /** The same engine, for writing forged rows. */
  exec: Executor;
  cleanup(): Promise<void>;
}

const decoded = (f: FixtureSession) => f.messages.flatMap((m) => decodeRecord(m));

/** The Frame bodies of a session's events, with their seqs. */
const framesOf = (f: FixtureSession): [number, Frame][] =>
  f.events.flatMap((e) => (e.event.body.type === 'Frame' ? [[e.event.seq, e.event.body] as [number, Frame]] : []));

/** The first frame holding a message of this type. */
const frameWith = (f: FixtureSession, type: string) => f.events.find((e) => e.event.body.type === 'Frame' && frameMessages(e.event.body).some((m) => m.type === type))!;

/** The columns of `events` before migration 003 (events v2) added the message columns. */
const PRE_003_COLUMNS = EVENT_COLUMNS.filter((c) => c.name !== 'message_types' && c.name !== 'message_offsets');

/** Runs a mutation (ALTER … UPDATE/DELETE) and waits until it is done: mutations are asynchronous on every version. */
export async function mutate(exec: Executor, sql: string): Promise<void> {
  await exec.command(sql);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [r] = await exec.select<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = '${exec.database}' AND is_done = 0`);
    if (Number(r?.n ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`mutation not done after 30 s: ${sql}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The events with event idx changed by `edit`, chained again from there (a gateway that recorded it so). */
function rechain(events: SessionEvent[], idx: number, edit: (b: SessionEvent['body']) => SessionEvent['body']): SessionEvent[] {
  const out: SessionEvent[] = [];
  let prev: Buffer = Buffer.alloc(32);
  for (const [i, e] of events.entries()) {
    const next = { ...e, prevHash: prev, body: i === idx ? edit(e.body) : e.body };
    out.push(next);
    prev = chainHash(prev, encodeEventBody(next));
  }
  return out;
}

export function runSuite(name: string, create: () => Promise<SuiteTarget>): void {
  describe(`store conformance: ${name}`, () => {
    let t: SuiteTarget;
    const t0 = Date.UTC(2026, 0, 15, 12) * 1000;
    const a = fixtureSession({ subject: 'agent:a', connection: 'pg-a', startMicros: t0 });
    const b = fixtureSession({ subject: 'agent:b', connection: 'pg-b', startMicros: t0 + 60e6, end: 'open' });
    // Recorded by gateways before events v2 and stored before migration 003 (to `events` only,
    // so the other cases' session listings do not see it).
    const legacy = fixtureSession({ subject: 'agent:legacy', connection: 'pg-legacy', startMicros: t0 + 180e6, v1Queries: 2 });

    before(async () => {
      t = await create();
      const before003 = await migrate(t.exec, loadMigrations().filter((m) => m.version < '003'));
      assert.deepEqual(before003.applied, ['001_init.sql', '002_soc.sql']);
      await t.exec.insert('events', PRE_003_COLUMNS, legacy.events.map((e) => toEventRow(e.event, e.body, e.hash)));
      const report = await t.store.migrate();
      assert.deepEqual(report.applied, ['003_frames.sql', '004_events_granularity.sql', '005_command_decisions.sql', '006_frame_commands.sql']);
    });
    after(async () => t?.cleanup());

    it('migrates idempotently', async () => {
      const again = await t.store.migrate();
      assert.deepEqual(again.applied, []);
      assert.deepEqual(again.alreadyApplied, ['001_init.sql', '002_soc.sql', '003_frames.sql', '004_events_granularity.sql', '005_command_decisions.sql', '006_frame_commands.sql']);
    });

    it('stores a session and reads it back exactly, once, despite redelivery', async () => {
      // Session a in one batch, twice; session b one event per batch so every Decision and
      // SessionEnded must find its command/session row in ClickHouse rather than in the batch.
      await t.store.insertEvents(decoded(a));
      await t.store.insertEvents(decoded(a));
      for (const d of decoded(b)) await t.store.insertEvents([d]);
      const events = await t.store.sessionEvents(a.sessionId);
      assert.equal(events.length, a.events.length);
      events.forEach((e, i) => {
        const src = a.events[i]!;
        assert.equal(e.seq, i);
        assert.ok(e.avro.equals(src.body), `avro of ${i}`);
        assert.equal(e.hash, src.hash.toString('hex'));
        assert.equal(e.type, src.event.body.type);
        if (src.event.body.type === 'Frame') {
          assert.ok(e.payload.equals(src.event.body.bytes), `payload of ${i}`);
          const messages = frameMessages(src.event.body);
          assert.deepEqual([e.messageTypes, e.messageOffsets], [messages.map((m) => m.type), messages.map((m) => m.start)], `messages of ${i}`);
        } else assert.deepEqual([e.messageTypes, e.messageOffsets], [[], []]);
        assert.deepEqual(toEventRow(decodeEventBody(e.avro), e.avro, src.hash).seq, i);
      });
      const paged: number[] = [];
      for await (const e of t.store.iterateSessionEvents(a.sessionId, 3)) paged.push(e.seq);
      assert.deepEqual(paged, a.events.map((_, i) => i));
      const n = await t.store.query(`SELECT count() AS n FROM events FINAL WHERE session_id = '${a.sessionId}'`, { readonly: true });
      assert.deepEqual(n.rows, [[String(a.events.length)]]);
    });

    it('reads a bounded seq range once each, knows the last stored seq, and pages over a gap', async () => {
      assert.deepEqual((await t.store.eventRange(a.sessionId, 2, 5)).map((e) => e.seq), [2, 3, 4]);
      assert.deepEqual(await t.store.eventRange(a.sessionId, 5, 5), []);
      assert.equal(await t.store.lastStoredSeq(a.sessionId), a.events.length - 1);
      assert.equal(await t.store.lastStoredSeq('no-such-session'), -1);
      // A session whose seq 3 is missing (lost, or deleted by someone): paging goes on past it.
      // Written to `events` only, so the other cases' session listings do not see it.
      const g = fixtureSession({ subject: 'agent:gap', connection: 'pg-gap', startMicros: t0 + 120e6 });
      await t.exec.insert('events', EVENT_COLUMNS, g.events.filter((e) => e.event.seq !== 3).map((e) => toEventRow(e.event, e.body, e.hash)));
      const paged: number[] = [];
      for await (const e of t.store.iterateSessionEvents(g.sessionId, 2)) paged.push(e.seq);
      assert.deepEqual(paged, g.events.map((_, i) => i).filter((i) => i !== 3));
    });

    it('ends a range at a byte budget: within it, at least one event, copies counted once', async () => {
      // Session a is stored twice (a redelivery); each event counts its payload and Avro once.
      const size = (i: number) => a.events[i]!.body.length + (a.events[i]!.event.body.type === 'Frame' ? a.events[i]!.event.body.bytes.length : 0);
      const seqs = async (from: number, to: number, maxBytes: number) => (await t.store.eventRange(a.sessionId, from, to, { maxBytes })).map((e) => e.seq);
      assert.deepEqual(await seqs(0, 100, size(0) + size(1) + size(2)), [0, 1, 2]);
      assert.deepEqual(await seqs(0, 100, size(0) + size(1) + size(2) + size(3) - 1), [0, 1, 2], 'the event that would pass the budget ends the page');
      assert.deepEqual(await seqs(1, 100, 1), [1], 'one event, however big');
      assert.deepEqual(await seqs(2, 5, 1e9), [2, 3, 4], 'the range still bounds it');
      assert.deepEqual(await seqs(a.events.length, a.events.length + 10, 1e9), []);
      const page = await t.store.eventRange(a.sessionId, 3, 100, { maxBytes: 4096 });
      assert.ok(page.reduce((n, e) => n + e.payload.length + e.avro.length, 0) <= 4096 && page.length > 1);
      await assert.rejects(t.store.eventRange(a.sessionId, 0, 5, { maxBytes: 0 }), (e: unknown) => e instanceof StoreError && e.code === 'BAD_REQUEST');
    });

    it('joins commands with their decisions and the session identity', async () => {
      for (const f of [a, b]) {
        const r = await t.store.query(
          `SELECT command_id, subject, connection, action, decision, text FROM commands FINAL WHERE session_id = '${f.sessionId}' ORDER BY command_id`,
          { readonly: true },
        );
        assert.deepEqual(r.columns.map((c) => c.name), ['command_id', 'subject', 'connection', 'action', 'decision', 'text']);
        assert.equal(r.columns[0]!.type, 'UInt64');
        const subject = f === a ? 'agent:a' : 'agent:b';
        const conn = f === a ? 'pg-a' : 'pg-b';
        assert.deepEqual(r.rows, [
          ['1', subject, conn, 'SELECT', 'ALLOW', 'SELECT id, email FROM customers ORDER BY id LIMIT 2'],
          ['2', subject, conn, 'DELETE', 'DENY', 'DELETE FROM customers'],
        ]);
      }
    });

    it('lists, filters and gets sessions', async () => {
      const all = await t.store.listSessions({ limit: 10 });
      assert.deepEqual(all.map((s) => s.sessionId), [b.sessionId, a.sessionId]);
      const sa = all[1]!;
      assert.equal(sa.subject, 'agent:a');
      assert.equal(sa.connection, 'pg-a');
      assert.equal(sa.nodeId, a.nodeId);
      assert.equal(sa.startedMicros, a.events[0]!.event.tsMicros);
      assert.ok(sa.ended && sa.sealed && sa.complete);
      assert.equal(sa.counters.commands, 2);
      assert.equal(sa.counters.denied, 1);
      assert.equal(sa.lastSeq, a.events.length - 1);
      assert.equal(sa.finalHash, a.events.at(-2)!.hash.toString('hex'));
      assert.equal(sa.sealedHash, sa.finalHash);
      const frames = (f: typeof a, d: string) => f.events.filter((e) => e.event.body.type === 'Frame' && e.event.body.direction === d);
      const messages = (f: typeof a, d: string) => frames(f, d).reduce((n, e) => n + (e.event.body.type === 'Frame' ? e.event.body.messageTypes.length : 0), 0);
      assert.deepEqual(
        [sa.counters.framesIn, sa.counters.framesOut, sa.counters.messagesIn, sa.counters.messagesOut],
        [frames(a, 'CLIENT_TO_SERVER').length, frames(a, 'SERVER_TO_CLIENT').length, messages(a, 'CLIENT_TO_SERVER'), messages(a, 'SERVER_TO_CLIENT')],
        'frames: Frame events; messages: the protocol messages in them',
      );
      const sb = all[0]!;
      assert.equal(sb.ended, false);
      assert.equal(sb.subject, 'agent:b');
      // An open session's counters are what is recorded so far, not blank.
      const bytes = (d: string) => frames(b, d).reduce((n, e) => n + (e.event.body.type === 'Frame' ? e.event.body.bytes.length : 0), 0);
      const want = {
        framesIn: frames(b, 'CLIENT_TO_SERVER').length, framesOut: frames(b, 'SERVER_TO_CLIENT').length, messagesIn: messages(b, 'CLIENT_TO_SERVER'),
        messagesOut: messages(b, 'SERVER_TO_CLIENT'), bytesIn: bytes('CLIENT_TO_SERVER'), bytesOut: bytes('SERVER_TO_CLIENT'), commands: 2, denied: 1,
      };
      assert.deepEqual(sb.counters, want);
      assert.ok(want.framesOut > 0 && want.messagesOut > want.framesOut, 'the fixture has frames of several messages');
      assert.deepEqual((await t.store.getSession(b.sessionId)).counters, want);
      assert.deepEqual((await t.store.listSessions({ subject: 'agent:a' })).map((s) => s.sessionId), [a.sessionId]);
      assert.deepEqual((await t.store.listSessions({ connection: 'pg-b' })).map((s) => s.sessionId), [b.sessionId]);
      assert.deepEqual((await t.store.listSessions({ sinceMicros: t0 + 30e6 })).map((s) => s.sessionId), [b.sessionId]);
      assert.equal((await t.store.listSessions({ limit: 1 })).length, 1);
      assert.equal((await t.store.getSession(a.sessionId)).sessionId, a.sessionId);
      await assert.rejects(t.store.getSession('nope'), SessionNotFoundError);
      assert.deepEqual([sa.state, sb.state], ['sealed', 'open']);
      assert.deepEqual((await t.store.listSessions({ untilMicros: t0 + 30e6 })).map((s) => s.sessionId), [a.sessionId]);
      assert.deepEqual((await t.store.listSessions({ state: 'open' })).map((s) => s.sessionId), [b.sessionId]);
      assert.deepEqual((await t.store.listSessions({ verdict: 'DENY', subject: 'agent:a' })).map((s) => s.sessionId), [a.sessionId]);
      assert.deepEqual(await t.store.listSessions({ verdict: 'APPROVAL' }), []);
    });

    it('keeps the second access path and the daily aggregates exact despite redelivery', async () => {
      const bySubject = await t.store.query(
        `SELECT session_id, command_id, decision FROM commands_by_subject FINAL WHERE subject = 'agent:a' AND connection = 'pg-a' ORDER BY ts_micros`,
        { readonly: true },
      );
      assert.deepEqual(bySubject.rows, [[a.sessionId, '1', 'ALLOW'], [a.sessionId, '2', 'DENY']]);
      const daily = await t.store.query(
        `SELECT toString(event_date), subject, connection, commands, denied, approvals, sessions FROM commands_per_day WHERE subject IN ('agent:a', 'agent:b') ORDER BY subject`,
        { readonly: true },
      );
      assert.deepEqual(daily.rows, [['2026-01-15', 'agent:a', 'pg-a', '2', '1', '0', '1'], ['2026-01-15', 'agent:b', 'pg-b', '2', '1', '0', '1']]);
      const masked = fixtureSession({ subject: 'agent:m' });
      const frame = frameWith(masked, 'DataRow');
      // A session whose DataRow carried masking notes, re-chained so its Avro says so.
      const events: SessionEvent[] = masked.events.map((e) => e.event);
      const idx = events.indexOf(frame.event);
      const rechained = rechain(events, idx, (b) => (b.type === 'Frame' ? { ...b, masks: [{ detector: 'email', location: 'column email', count: 2 }] } : b));
      await t.store.insertEvents(rechained.map((e) => ({ event: e, body: encodeEventBody(e) })));
      const m = await t.store.query(
        `SELECT seq, mask_detectors, mask_locations, masked FROM events FINAL WHERE session_id = '${masked.sessionId}' AND masked > 0`,
        { readonly: true },
      );
      assert.deepEqual(m.rows, [[String(idx), "['email']", "['column email']", '2']]);
      // `sessions ls --verdict MASK`: the sessions in which a value was masked.
      assert.deepEqual((await t.store.listSessions({ verdict: 'MASK', subject: 'agent:m' })).map((s) => s.sessionId), [masked.sessionId]);
      assert.deepEqual(await t.store.listSessions({ verdict: 'MASK', subject: 'agent:a' }), []);
    });

    it('reads events stored before migration 003 as one message per frame, and verifies them intact', async () => {
      const stored = await t.store.sessionEvents(legacy.sessionId);
      assert.equal(stored.length, legacy.events.length);
      for (const e of stored) {
        const expected = e.type === 'Frame' ? [[e.messageType], [0]] : [[], []];
        assert.deepEqual([e.messageTypes, e.messageOffsets], expected, `event ${e.seq}`);
      }
      // The columns' defaults read as the projection of a v1 event, so SQL over them counts old rows too.
      const dataRows = await t.store.query(
        `SELECT sum(arrayCount(x -> x = 'DataRow', message_types)), countIf(message_type = 'DataRow') FROM events FINAL WHERE session_id = '${legacy.sessionId}'`,
        { readonly: true },
      );
      assert.deepEqual(dataRows.rows, [['2', '2']]);
      const v = await t.store.verifySession(legacy.sessionId, legacy.trustedKeys);
      assert.equal(v.status, 'intact', v.detail);
    });

    it('stores v1 and v2 events of one session and verifies them intact', async () => {
      const mixed = fixtureSession({ subject: 'agent:mixed', v1Queries: 1 });
      const frames = framesOf(mixed);
      // The first statement is v1 (a frame per message), the second v2 (its result in one frame).
      assert.deepEqual(frames.map(([, f]) => f.messageTypes.length), [0, 0, 0, 0, 0, 0, 1, 2]);
      await t.store.insertEvents(decoded(mixed));
      const stored = await t.store.sessionEvents(mixed.sessionId);
      for (const [seq, f] of frames) {
        const e = stored[seq]!;
        assert.ok(e.avro.equals(mixed.events[seq]!.body), `avro of ${seq} as recorded`);
        assert.deepEqual([e.messageTypes, e.messageOffsets], [frameMessages(f).map((m) => m.type), frameMessages(f).map((m) => m.start)]);
      }
      const v = await t.store.verifySession(mixed.sessionId, mixed.trustedKeys);
      assert.equal(v.status, 'intact', v.detail);
    });

    it('derives one row per protocol message in frame_messages, each event once', async () => {
      const all = await t.store.query(`SELECT * FROM frame_messages WHERE session_id = '${a.sessionId}' ORDER BY seq, idx`, { readonly: true });
      assert.deepEqual(all.columns.map((c) => c.name), [
        'session_id', 'seq', 'idx', 'ts', 'ts_micros', 'event_date', 'node_id', 'direction', 'message_type', 'offset', 'payload',
      ]);
      // Session a was written twice: FINAL shows each message once.
      for (const f of [a, legacy]) {
        const r = await t.store.query(
          `SELECT seq, idx, ts_micros, node_id, direction, message_type, offset, hex(payload) FROM frame_messages WHERE session_id = '${f.sessionId}' ORDER BY seq, idx`,
          { readonly: true },
        );
        const expected = framesOf(f).flatMap(([seq, frame]) =>
          frameMessages(frame).map((m, i) => [
            String(seq), String(i + 1), String(f.events[seq]!.event.tsMicros), f.nodeId, frame.direction, m.type, String(m.start),
            frame.bytes.subarray(m.start, m.end).toString('hex').toUpperCase(),
          ]),
        );
        assert.deepEqual(r.rows, expected);
      }
      const types = await t.store.query(
        `SELECT groupArray(message_type) FROM (SELECT message_type FROM frame_messages WHERE session_id = '${a.sessionId}' AND direction = 'SERVER_TO_CLIENT' ORDER BY seq, idx)`,
        { readonly: true },
      );
      assert.deepEqual(types.rows, [["['RowDescription','DataRow','DataRow','CommandComplete','ReadyForQuery','ErrorResponse','ReadyForQuery']"]]);
    });

    it('finds an edited message_types or message_offsets column, and accepts empty ones only on a v1 frame', async () => {
      const db = t.exec.database;
      const tampered = async (set: string, pick: (f: FixtureSession) => number) => {
        const f = fixtureSession({ v1Queries: 1 });
        await t.store.insertEvents(decoded(f));
        const seq = pick(f);
        await mutate(t.exec, `ALTER TABLE ${db}.events UPDATE ${set} WHERE session_id = '${f.sessionId}' AND seq = ${seq}`);
        return { seq, v: await t.store.verifySession(f.sessionId, f.trustedKeys) };
      };
      const v2Result = (f: FixtureSession) => framesOf(f).at(-1)![0];
      const v1Row = (f: FixtureSession) => frameWith(f, 'DataRow').event.seq;
      for (const set of ["message_types = ['ErrorResponse']", "message_types = ['ErrorResponse', 'DataRow']", 'message_offsets = [0, 1]', 'message_types = emptyArrayString()']) {
        const { seq, v } = await tampered(set, v2Result);
        assert.deepEqual([v.status, v.firstBadSeq], ['broken', seq], `${set}: ${v.detail}`);
        assert.match(v.detail, new RegExp(`column ${set.split(' ')[0]} does not match`));
      }
      const renamed = await tampered("message_types = ['ErrorResponse']", v1Row);
      assert.deepEqual([renamed.v.status, renamed.v.firstBadSeq], ['broken', renamed.seq], renamed.v.detail);
      // An empty pair on a v1 frame is how such a row may read when stored before 003: its one message is message_type.
      const empty = await tampered('message_types = emptyArrayString(), message_offsets = emptyArrayUInt64()', v1Row);
      assert.equal(empty.v.status, 'intact', empty.v.detail);
    });

    it('verifies intact, open, unsealed and incomplete sessions', async () => {
      assert.equal((await t.store.verifySession(a.sessionId, a.trustedKeys)).status, 'intact');
      const open = await t.store.verifySession(b.sessionId, b.trustedKeys);
      assert.equal(open.status, 'incomplete');
      assert.equal(open.events, b.events.length);
      for (const end of ['unsealed', 'incomplete'] as const) {
        const f = fixtureSession({ end });
        await t.store.insertEvents(decoded(f));
        const r = await t.store.verifySession(f.sessionId, f.trustedKeys);
        assert.equal(r.status, 'incomplete', `${end}: ${r.detail}`);
      }
      await assert.rejects(t.store.verifySession('nope', {}), SessionNotFoundError);
    });

    it('finds a broken seal, an untrusted node, a missing event and a forged row', async () => {
      const other = generateKeyPairSync('ed25519').publicKey;
      const wrongKey = await t.store.verifySession(a.sessionId, { [a.nodeId]: other });
      assert.equal(wrongKey.status, 'broken');
      assert.equal(wrongKey.firstBadSeq, a.events.length - 1);
      const untrusted = await t.store.verifySession(a.sessionId, {});
      assert.equal(untrusted.status, 'broken');
      assert.match(untrusted.detail, /no trusted key/);

      const gap = fixtureSession();
      await t.store.insertEvents(decoded(gap).filter((d) => d.event.seq !== 3));
      const g = await t.store.verifySession(gap.sessionId, gap.trustedKeys);
      assert.deepEqual([g.status, g.firstBadSeq], ['broken', 3]);

      const forged = fixtureSession();
      await t.store.insertEvents(decoded(forged));
      const victim = frameWith(forged, 'DataRow');
      const row = toEventRow(victim.event, victim.body, victim.hash);
      // A row whose column disagrees with its own Avro, added next to the genuine one.
      await t.exec.insert('events', EVENT_COLUMNS, [{ ...row, payload: Buffer.from('D\0\0\0\x0bforged') }]);
      const f = await t.store.verifySession(forged.sessionId, forged.trustedKeys);
      assert.deepEqual([f.status, f.firstBadSeq], ['broken', victim.event.seq]);
    });

    it('seals an idle session incomplete and still finds its tail deleted', async () => {
      const open = fixtureSession({ subject: 'agent:crashed', startMicros: t0, end: 'open' });
      await t.store.insertEvents(decoded(open));
      const idle = (await t.store.idleSessions(t0 + 3600e6)).find((s) => s.sessionId === open.sessionId);
      const last = open.events.at(-1)!;
      assert.ok(idle);
      assert.deepEqual(idle, { sessionId: open.sessionId, lastSeq: last.event.seq, headHash: last.hash.toString('hex'), lastEventMicros: last.event.tsMicros });
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      await t.store.sealIncomplete({
        ...idle, sealedMicros: t0 + 3600e6, sealedBy: 'materializer-1', reason: 'idle-timeout',
        signature: signIncompleteSeal(privateKey, open.sessionId, idle.lastSeq, Buffer.from(idle.headHash, 'hex')).toString('hex'),
      });
      const s = await t.store.getSession(open.sessionId);
      assert.deepEqual([s.state, s.lastSeq, s.counters.commands, s.counters.denied, s.endReason], ['incomplete', last.event.seq, 2, 1, 'idle-timeout']);
      assert.equal((await t.store.idleSessions(t0 + 3600e6)).some((x) => x.sessionId === open.sessionId), false, 'sealed once');
      const keys = { ...open.trustedKeys, 'materializer-1': publicKey };
      const v = await t.store.verifySession(open.sessionId, keys);
      assert.deepEqual([v.status, v.sealedIncomplete, v.lastSeq], ['incomplete', true, last.event.seq], v.detail);
      assert.match(v.detail, /sealed incomplete by materializer-1/);
      const forgedKey = await t.store.verifySession(open.sessionId, { ...open.trustedKeys, 'materializer-1': generateKeyPairSync('ed25519').publicKey });
      assert.deepEqual([forgedKey.status, forgedKey.firstBadSeq], ['broken', last.event.seq]);
      await mutate(t.exec, `ALTER TABLE ${t.exec.database}.events DELETE WHERE session_id = '${open.sessionId}' AND seq >= ${last.event.seq - 1}`);
      const cut = await t.store.verifySession(open.sessionId, keys);
      assert.deepEqual([cut.status, cut.firstBadSeq], ['broken', last.event.seq - 1], cut.detail);
      assert.match(cut.detail, /missing/);
    });

    it('pinpoints events altered or deleted in place', async () => {
      const f = fixtureSession();
      await t.store.insertEvents(decoded(f));
      const db = t.exec.database;
      await mutate(t.exec, `ALTER TABLE ${db}.events UPDATE payload = 'Q\\0\\0\\0\\x0cSELECT 2\\0' WHERE session_id = '${f.sessionId}' AND seq = 1`);
      const payload = await t.store.verifySession(f.sessionId, f.trustedKeys);
      assert.deepEqual([payload.status, payload.firstBadSeq], ['broken', 1], payload.detail);
      assert.match(payload.detail, /column payload/);

      // Rewriting an event consistently (Avro, hash and every column) still breaks the link the next event recorded.
      const g = fixtureSession();
      await t.store.insertEvents(decoded(g));
      const k = 2;
      const events = g.events.map((e) => e.event);
      const changed = { ...events[k]!, tsMicros: events[k]!.tsMicros + 1 };
      const body = encodeEventBody(changed);
      const row = toEventRow(changed, body, chainHash(Buffer.from(changed.prevHash), body));
      await mutate(t.exec, `ALTER TABLE ${db}.events UPDATE avro = unhex('${body.toString('hex')}'), hash = '${row.hash}', ts_micros = ${row.ts_micros} WHERE session_id = '${g.sessionId}' AND seq = ${k}`);
      const relinked = await t.store.verifySession(g.sessionId, g.trustedKeys);
      assert.deepEqual([relinked.status, relinked.firstBadSeq], ['broken', k], relinked.detail);
      assert.match(relinked.detail, new RegExp(`event ${k} was altered`));

      const h = fixtureSession();
      await t.store.insertEvents(decoded(h));
      await mutate(t.exec, `ALTER TABLE ${db}.events DELETE WHERE session_id = '${h.sessionId}' AND seq = 4`);
      const deleted = await t.store.verifySession(h.sessionId, h.trustedKeys);
      assert.deepEqual([deleted.status, deleted.firstBadSeq], ['broken', 4]);
      // Cutting the end off, SessionEnded included, is caught through the sessions row.
      await mutate(t.exec, `ALTER TABLE ${db}.events DELETE WHERE session_id = '${a.sessionId}' AND seq >= ${a.events.length - 3}`);
      const tail = await t.store.verifySession(a.sessionId, a.trustedKeys);
      assert.deepEqual([tail.status, tail.firstBadSeq], ['broken', a.events.length - 3], tail.detail);
    });

    it('runs SOC SQL read-only, bounded, with readable errors', async () => {
      const r = await t.store.query('SELECT number, toString(number) AS s, NULL AS z FROM system.numbers LIMIT 5;', { readonly: true, maxRows: 3 });
      assert.deepEqual(r.columns.map((c) => c.name), ['number', 's', 'z']);
      assert.equal(r.rows.length, 3);
      assert.deepEqual(r.rows[0], ['0', '0', null]);
      assert.equal(r.truncated, true);
      const esc = await t.store.query("SELECT 'a\\tb\\nc' AS x", { readonly: true });
      assert.deepEqual(esc.rows, [['a\tb\nc']]);
      await assert.rejects(
        t.store.query(`INSERT INTO events (session_id) VALUES ('x')`, { readonly: true }),
        (e: unknown) => e instanceof StoreError && e.code === 'READONLY',
      );
      await assert.rejects(
        t.store.query('SELECT nosuchcolumn FROM events', { readonly: true }),
        (e: unknown) => e instanceof StoreError && e.code === 'CLICKHOUSE' && /nosuchcolumn/.test(e.message),
      );
    });
  });
}
