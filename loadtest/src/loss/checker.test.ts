import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ABORT_FRAME_TYPE } from '@chaperone/gateway';
import { checkLoss, lossFree } from './checker.js';
import type { LossReader } from './sessions.js';

/** A BackendKeyData message: 'K', length 12, pid, secret key. */
function bkd(pid: number): Buffer {
  const b = Buffer.alloc(13);
  b.write('K', 0);
  b.writeInt32BE(12, 1);
  b.writeInt32BE(pid, 5);
  return b;
}

/** A message of a type the checker does not look into (its bytes only need a distinct tag). */
const msg = (tag: string, body: string) => Buffer.concat([Buffer.from(tag), Buffer.from([0, 0, 0, 4 + body.length]), Buffer.from(body)]);

/** The gateway's own statement that aborts a transaction after a refusal (gateway tx-abort.ts). */
const abortSql = (token: string) => `SELECT pg_catalog.chaperone_abort_${token}()`;

/** One stored Frame event: v1 (one message, message_types empty) or v2 (every message of one write). */
interface FrameRow {
  sessionId: string;
  tsMicros: number;
  messages: [type: string, bytes: Buffer][];
  v1?: boolean;
}

interface Fake {
  sessions: [id: string, state: 'sealed' | 'open' | 'incomplete', endReason: string, events: number, maxSeq: number][];
  /** BackendKeyData recorded as v1 frames of their own. */
  keys?: [id: string, tsMicros: number, pid: number][];
  commands: [id: string, text: string, decision: string, outcome?: string][];
  /** The gateway's transaction-aborting statements recorded per session, by token (v1 frames). */
  aborts?: [id: string, token: string][];
  /** Further Frame events, typically v2 frames of several messages. */
  frames?: FrameRow[];
}

function frameRows(f: Fake): FrameRow[] {
  return [
    ...(f.keys ?? []).map(([sessionId, tsMicros, pid]): FrameRow => ({ sessionId, tsMicros, messages: [['BackendKeyData', bkd(pid)]], v1: true })),
    ...(f.aborts ?? []).map(([sessionId, token]): FrameRow => ({ sessionId, tsMicros: 0, messages: [[ABORT_FRAME_TYPE, msg('Q', `${abortSql(token)}\0`)]], v1: true })),
    ...(f.frames ?? []),
  ];
}

/**
 * Answers a query for the frames holding a message type as ClickHouse would: a row matches on
 * `message_type` (its first message) only where the query tests that, and on any of its messages
 * only where it tests `has(message_types, …)`, so a query that forgets either misses rows.
 */
function framesQuery(sql: string, rows: FrameRow[]): (string | null)[][] {
  const first = /message_type = '([^']+)'/.exec(sql)?.[1];
  const any = /has\(message_types, '([^']+)'\)/.exec(sql)?.[1];
  return rows
    .filter((r) => r.messages[0]![0] === first || (!r.v1 && r.messages.some(([t]) => t === any)))
    .map((r) => {
      let at = 0;
      const offsets = r.messages.map(([, b]) => ((at += b.length), at - b.length));
      const types = r.v1 ? '' : r.messages.map(([t]) => Buffer.from(t).toString('hex').toUpperCase()).join(',');
      const hex = Buffer.concat(r.messages.map(([, b]) => b)).toString('hex').toUpperCase();
      return [r.sessionId, String(r.tsMicros), hex, r.messages[0]![0], types, r.v1 ? '' : offsets.join(',')];
    });
}

/** Answers the checker's queries from fixtures (recognised by what they select). */
function reader(f: Fake): LossReader {
  return {
    database: 'chaperone',
    query(sql) {
      if (sql.includes('argMax(subject, version)'))
        return Promise.resolve({
          rows: f.sessions.map(([id, state, reason]) => [id, 'agent:x', 'postgres', 'gw-1', '0', state === 'open' ? '0' : '5', state === 'incomplete' ? '0' : '1', state === 'sealed' ? '1' : '0', reason]),
        });
      if (sql.includes('uniqExact(seq)')) return Promise.resolve({ rows: f.sessions.map(([id, , , n, max]) => [id, String(n), String(max)]) });
      if (sql.includes('hex(payload)')) return Promise.resolve({ rows: framesQuery(sql, frameRows(f)) });
      if (sql.includes('argMax(text, version)')) return Promise.resolve({ rows: f.commands.map(([id, text, d, o]) => [id, text, d, o ?? '']) });
      throw new Error(`unexpected query: ${sql}`);
    },
  };
}

const line = (ts: string, pid: number, msg: string, app = 'fleet-t') => `2026-01-01 10:00:${ts} UTC [${pid}] chaperone_upstream@demo app=${app} LOG:  ${msg}`;
const at = (s: number) => Date.parse('2026-01-01T10:00:00Z') * 1000 + s * 1_000_000;

describe('checkLoss', () => {
  const base = { sinceMs: Date.parse('2026-01-01T09:59:00Z'), upstreamUser: 'chaperone_upstream', subjects: ['agent:x'], applicationName: 'fleet-t' };

  it('passes when every executed statement is recorded once, across a reused pid, a split query and a fastpath call', async () => {
    const r = await checkLoss({
      ...base,
      store: reader({
        sessions: [['s1', 'sealed', 'client-terminate', 10, 9], ['s2', 'sealed', 'client-terminate', 10, 9]],
        keys: [['s1', at(1), 100], ['s2', at(5), 100]],
        commands: [['s1', 'SELECT 1', 'ALLOW'], ['s1', 'FUNCTION CALL 952', 'ALLOW'], ['s2', 'BEGIN', 'ALLOW'], ['s2', 'SELECT 2', 'ALLOW'], ['s2', 'COMMIT', 'ALLOW'], ['s2', 'DROP TABLE t', 'DENY']],
      }),
      statementLog: [line('02.000', 100, 'statement: SELECT 1'), line('03.000', 100, 'fastpath function call: "lo_open" (OID 952)'), line('06.000', 100, 'statement: BEGIN; SELECT 2; COMMIT')].join('\n'),
    });
    assert.equal(r.executed, 5);
    assert.equal(r.recorded, 5);
    assert.ok(lossFree(r), JSON.stringify(r));
  });

  it('reports unrecorded, refused-but-run, unowned backends, twice-recorded and unsealed', async () => {
    const r = await checkLoss({
      ...base,
      store: reader({
        sessions: [['s1', 'sealed', 'client-terminate', 10, 9], ['s2', 'open', '', 4, 9]],
        keys: [['s1', at(1), 100]],
        commands: [['s1', 'SELECT 1', 'ALLOW'], ['s1', 'SELECT 1', 'ALLOW'], ['s1', 'DROP TABLE t', 'DENY'], ['s1', 'DELETE FROM t', 'APPROVAL', 'UNAVAILABLE']],
      }),
      statementLog: [
        line('02.000', 100, 'statement: SELECT 1'),
        line('03.000', 100, 'statement: SELECT 3'),
        line('04.000', 100, 'statement: DROP TABLE t'),
        line('04.500', 100, 'statement: DELETE FROM t'),
        line('05.000', 200, 'statement: SELECT 4'),
        line('05.000', 300, 'statement: SELECT 5', 'someone-else'),
      ].join('\n'),
    });
    assert.deepEqual(r.missing.map((m) => m.text), ['SELECT 3']);
    assert.deepEqual(r.deniedButExecuted.map((m) => m.text), ['DROP TABLE t', 'DELETE FROM t']);
    assert.deepEqual(r.unknownBackends, [200]);
    assert.deepEqual(r.unexecuted.map((m) => m.text), ['SELECT 1']);
    assert.deepEqual(r.unsealed, ['s2']);
    assert.deepEqual(r.gaps, ['s2']);
    assert.equal(lossFree(r), false);
  });

  it('accepts a cut-off session with a gap-free chain, and its recorded but unforwarded command, only when told to', async () => {
    const fixture = reader({
      sessions: [['s1', 'open', '', 10, 9]],
      keys: [['s1', at(1), 100]],
      commands: [['s1', 'SELECT 1', 'ALLOW'], ['s1', 'SELECT 2', 'ALLOW'], ['s1', 'UPDATE t SET a = 1', 'APPROVAL', 'APPROVED']],
    });
    const log = [line('02.000', 100, 'statement: SELECT 1'), line('03.000', 100, 'statement: UPDATE t SET a = 1')].join('\n');
    const strict = await checkLoss({ ...base, store: fixture, statementLog: log });
    assert.deepEqual(strict.unsealed, ['s1']);
    assert.equal(lossFree(strict), false);
    const tolerant = await checkLoss({ ...base, store: fixture, statementLog: log, tolerateCutOff: true });
    assert.deepEqual(tolerant.cutOff, ['s1']);
    assert.deepEqual(tolerant.notForwarded.map((m) => m.text), ['SELECT 2']);
    assert.ok(lossFree(tolerant), JSON.stringify(tolerant));
  });

  it("accounts for the gateway's own transaction-aborting statements by their recorded token, and only those", async () => {
    const store = (aborts: [string, string][]) =>
      reader({
        sessions: [['s1', 'sealed', 'client-terminate', 10, 9]],
        keys: [['s1', at(1), 100]],
        commands: [['s1', 'BEGIN', 'ALLOW'], ['s1', "SELECT pg_read_file('/etc/passwd')", 'DENY'], ['s1', 'COMMIT', 'ALLOW']],
        aborts,
      });
    const statementLog = [line('02.000', 100, 'statement: BEGIN'), line('03.000', 100, `statement: ${abortSql('a1b2c3_1')}`), line('04.000', 100, 'statement: COMMIT')].join('\n');
    const ok = await checkLoss({ ...base, store: store([['s1', 'a1b2c3_1']]), statementLog });
    assert.equal(ok.gatewayAborts, 1);
    assert.equal(ok.executed, 2);
    assert.ok(lossFree(ok), JSON.stringify(ok));
    const other = await checkLoss({ ...base, store: store([['s1', 'a1b2c3_2']]), statementLog });
    assert.equal(other.gatewayAborts, 0);
    assert.equal(other.missing.length, 1);
    assert.ok(!lossFree(other));
  });
  it('finds BackendKeyData inside a v2 frame of the whole startup answer, next to v1 frames of its own', async () => {
    const startup = (sid: string, ts: number, pid: number): FrameRow => ({
      sessionId: sid,
      tsMicros: ts,
      messages: [['AuthenticationOk', msg('R', '\0\0\0\0')], ['ParameterStatus', msg('S', 'application_name\0fleet-t\0')], ['BackendKeyData', bkd(pid)], ['ReadyForQuery', msg('Z', 'I')]],
    });
    const store = (frames: FrameRow[]) =>
      reader({
        sessions: [['s1', 'sealed', 'client-terminate', 10, 9], ['s2', 'sealed', 'client-terminate', 10, 9], ['s3', 'sealed', 'client-terminate', 10, 9]],
        keys: [['s3', at(7), 300]],
        frames,
        commands: [['s1', 'SELECT 1', 'ALLOW'], ['s2', 'SELECT 2', 'ALLOW'], ['s3', 'SELECT 3', 'ALLOW']],
      });
    const statementLog = [line('02.000', 100, 'statement: SELECT 1'), line('06.000', 100, 'statement: SELECT 2'), line('08.000', 300, 'statement: SELECT 3')].join('\n');
    const r = await checkLoss({ ...base, store: store([startup('s1', at(1), 100), startup('s2', at(5), 100)]), statementLog });
    assert.equal(r.executed, 3);
    assert.ok(lossFree(r), JSON.stringify(r));
    // Without s2's startup frame the reused pid still belongs to s1 at 06.000: SELECT 2 is not s1's.
    const lost = await checkLoss({ ...base, store: store([startup('s1', at(1), 100)]), statementLog });
    assert.deepEqual(lost.missing.map((m) => [m.sessionId, m.text]), [['s1', 'SELECT 2']]);
    assert.deepEqual(lost.unexecuted.map((m) => m.text), ['SELECT 2']);
    assert.ok(!lossFree(lost));
  });

  it("takes abort tokens only from the gateway's own messages of a v2 frame, not from an agent's message in the same write", async () => {
    const own = (token: string) => msg('Q', `${abortSql(token)}\0`);
    const store = reader({
      sessions: [['s1', 'sealed', 'client-terminate', 10, 9]],
      keys: [['s1', at(1), 100]],
      commands: [['s1', 'BEGIN', 'ALLOW'], ['s1', 'DROP TABLE t', 'DENY']],
      frames: [{ sessionId: 's1', tsMicros: at(3), messages: [['Query', msg('Q', `SELECT 'chaperone_abort_a1b2c3_9'\0`)], [ABORT_FRAME_TYPE, own('a1b2c3_1')]] }],
    });
    const statementLog = [
      line('02.000', 100, 'statement: BEGIN'),
      line('03.000', 100, `statement: SELECT 'chaperone_abort_a1b2c3_9'`),
      line('03.100', 100, `statement: ${abortSql('a1b2c3_1')}`),
    ].join('\n');
    const r = await checkLoss({ ...base, store, statementLog });
    assert.equal(r.gatewayAborts, 1);
    assert.deepEqual(r.missing.map((m) => m.text), ["SELECT 'chaperone_abort_a1b2c3_9'"]);
    assert.ok(!lossFree(r));
  });
});
