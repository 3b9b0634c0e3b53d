import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureSession, pgDataRow, pgErrorResponse, pgRowDescription } from '@chaperone/store/testing';
import { toEventRow } from '@chaperone/store';
import type { EventMsg } from '../proto.js';
import { buildTranscript } from './transcript.js';
import { formatTranscript } from './format.js';
import { dataRow, errorResponse, rowDescription } from './pgwire.js';
import { LiveTranscript } from './live.js';

const asMsgs = (f: ReturnType<typeof fixtureSession>): EventMsg[] =>
  f.events.map(({ event, body, hash }) => {
    const r = toEventRow(event, body, hash);
    return {
      sessionId: r.session_id, seq: r.seq, tsMicros: r.ts_micros, nodeId: r.node_id, type: r.type, direction: r.direction, messageType: r.message_type,
      commandId: r.command_id, payload: r.payload, redacted: r.redacted === 1, avro: r.avro, hash: r.hash, prevHash: r.prev_hash,
    };
  });

describe('replay transcript', () => {
  it('decodes PostgreSQL result messages and tolerates garbage', () => {
    const fields = rowDescription(pgRowDescription(['a', 'b']))!;
    assert.deepEqual(fields.map((f) => f.name), ['a', 'b']);
    assert.deepEqual(dataRow(pgDataRow(['x', null]), fields), ['x', null]);
    assert.deepEqual(errorResponse(pgErrorResponse('42P01', 'no such table')), { severity: 'ERROR', code: '42P01', message: 'no such table' });
    const row = pgDataRow(['xyz']);
    for (let cut = 0; cut < row.length; cut++) assert.equal(dataRow(row.subarray(0, cut)), undefined);
    assert.equal(rowDescription(Buffer.from('garbage')), undefined);
  });

  it('renders a session with identity, commands, results and decisions', () => {
    const f = fixtureSession({
      subject: 'ci:deploy', connection: 'prod-pg', startMicros: Date.UTC(2026, 0, 15, 12) * 1000,
      queries: [
        { sql: 'SELECT id, note FROM t', columns: ['id', 'note'], rows: [['1', 'multi\nline'], ['22', null]] },
        { sql: 'DROP TABLE t', decision: 'DENY' },
        { sql: 'SELECT * FROM missing', error: 'relation "missing" does not exist' },
      ],
    });
    const t = buildTranscript(asMsgs(f));
    assert.equal(t.commands.length, 3);
    assert.equal(t.ended?.sealed, true);
    const text = formatTranscript(t);
    assert.match(text, /^Session fx-\w+ {2}postgres via connection prod-pg$/m);
    assert.match(text, /identity {2}ci:deploy \(issuer chaperone, groups agents, token tok-1\)/);
    assert.match(text, /started {3}2026-01-15 12:00:00\.001000 UTC/);
    assert.match(text, /\[12:00:00\.\d{6}\] #1 SELECT {2}ALLOW \(policy rev-test\)\n {2}SELECT id, note FROM t/);
    assert.match(text, / {2}id {2}note\n {2}-- {2}-+\n {2}1 {3}multi⏎line\n {2}22 {2}NULL\n/);
    assert.match(text, /#2 DROP {2}DENY: policy forbids this/);
    assert.match(text, /ERROR 42501: chaperone: denied by policy/);
    assert.match(text, /ERROR 42P01: relation "missing" does not exist/);
    assert.match(text, /client-terminate; sealed by gw-test-1/);
  });

  it('shows a query the gateway recorded no Command for, and an open session', () => {
    const f = fixtureSession({ end: 'open', queries: [{ sql: 'SELECT 1', columns: ['?column?'], rows: [['1']] }] });
    const msgs = asMsgs(f).filter((m) => m.type !== 'Command' && m.type !== 'Decision');
    const t = buildTranscript(msgs);
    assert.deepEqual(t.commands.map((c) => [c.commandId, c.text]), [[0, 'SELECT 1']]);
    const text = formatTranscript(t);
    assert.match(text, /\(no command recorded\)/);
    assert.match(text, /still open/);
  });

  it('renders event by event: the statement when its Command arrives, results when complete', () => {
    const f = fixtureSession({
      subject: 'ci:deploy', startMicros: Date.UTC(2026, 0, 15, 12) * 1000,
      queries: [{ sql: 'SELECT id FROM t', columns: ['id'], rows: [['1'], ['2']] }, { sql: 'DROP TABLE t', decision: 'DENY' }],
    });
    const live = new LiveTranscript({ maxRows: 1 });
    const out = asMsgs(f).map((m) => [m.type, live.push(m)] as const);
    const at = (type: string, n = 0) => out.filter(([t]) => t === type)[n]![1];
    assert.match(at('SessionStarted'), /^Session fx-\w+ {2}postgres via connection demo-pg\n {2}identity {2}ci:deploy/);
    assert.match(at('Command'), /^\[12:00:00\.\d{6}\] #1 SELECT\n {2}SELECT id FROM t\n$/);
    assert.match(at('Decision'), /→ ALLOW \(policy rev-test, #1\)/);
    assert.match(at('Decision', 1), /→ DENY: policy forbids this/);
    const text = out.map(([, t]) => t).join('') + live.end();
    assert.match(text, / {2}id\n {2}--\n {2}1\n {2}… 1 more rows\n {2}\(SELECT 2\)/);
    assert.match(text, /ERROR 42501: chaperone: denied by policy/);
    assert.match(text, /ended .*client-terminate; sealed by gw-test-1/);
    assert.equal(text.match(/SELECT id FROM t/g)?.length, 1, 'the Query frame and its Command print once');
  });
});
