import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLoss, lossFree } from './checker.js';
import type { LossReader } from './sessions.js';

/** BackendKeyData frame bytes: 'K', length 12, pid, secret key. */
function bkd(pid: number): string {
  const b = Buffer.alloc(13);
  b.write('K', 0);
  b.writeInt32BE(12, 1);
  b.writeInt32BE(pid, 5);
  return b.toString('hex').toUpperCase();
}

interface Fake {
  sessions: [id: string, state: 'sealed' | 'open' | 'incomplete', endReason: string, events: number, maxSeq: number][];
  keys: [id: string, tsMicros: number, pid: number][];
  commands: [id: string, text: string, decision: string, outcome?: string][];
  /** The gateway's transaction-aborting statements recorded per session, by token. */
  aborts?: [id: string, token: string][];
}

/** The gateway's own statement that aborts a transaction after a refusal (gateway tx-abort.ts). */
const abortSql = (token: string) => `SELECT pg_catalog.chaperone_abort_${token}()`;

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
      if (sql.includes("'chaperone.abort-transaction'"))
        return Promise.resolve({ rows: (f.aborts ?? []).map(([id, token]) => [id, Buffer.from(`Q....${abortSql(token)}\0`).toString('hex')]) });
      if (sql.includes('BackendKeyData')) return Promise.resolve({ rows: f.keys.map(([id, ts, pid]) => [id, String(ts), bkd(pid)]) });
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
});
