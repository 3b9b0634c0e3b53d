import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBody } from '@chaperone/events';
import { fixtureSession, pgCommandComplete, pgDataRow, pgErrorResponse, pgQuery, pgReadyForQuery, pgRowDescription } from '@chaperone/store/testing';
import type { EventMsg } from '../proto.js';
import {
  pgBind, pgBindComplete, pgDescribePortal, pgEmptyQueryResponse, pgExecute, pgParse, pgParseComplete, pgSync, recordScript,
  type ScriptMessage, type ScriptStep,
} from '../testing.js';
import { buildTranscript, type Transcript } from './transcript.js';
import { TranscriptJsonWriter, transcriptDocument } from './json.js';
import { LiveTranscript } from './live.js';

const T0 = Date.UTC(2026, 0, 15, 12) * 1000;
const ms = (n: number) => T0 + n * 1000;

const started: EventBody = {
  type: 'SessionStarted', connection: 'demo-pg', protocol: 'postgres', clientAddress: '127.0.0.1:50000', tls: false, attributesJson: '{}',
  identity: { subject: 'agent:script', issuer: 'chaperone', groups: ['agents'], tokenId: '', claimsJson: '{}' },
};
const ended: EventBody = {
  type: 'SessionEnded', reason: 'client-terminate', error: '', finalHash: Buffer.alloc(32), signature: Buffer.from('sig'), sealedBy: 'gw-test-1', complete: true,
  counters: { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, commands: 0, denied: 0 },
};
const command = (commandId: number, text: string): EventBody => ({
  type: 'Command', commandId, protocol: 'postgres', action: text.split(' ')[0]!.toUpperCase(), targets: [], text, textSha256: '', detailsJson: '{}', params: [],
});
const decision = (commandId: number, result: 'ALLOW' | 'DENY' | 'APPROVAL' = 'ALLOW'): EventBody => ({
  type: 'Decision', commandId, result, reasons: result === 'ALLOW' ? [] : ['policy says so'], policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}',
});
/** A statement the gateway decided: its Command and Decision. */
const decided = (commandId: number, text: string, result?: 'ALLOW' | 'DENY' | 'APPROVAL') => [command(commandId, text), decision(commandId, result)];

const msg = (type: string, bytes: Buffer, extra: Partial<ScriptMessage> = {}): ScriptMessage => ({ type, bytes, ...extra });
const query = (sql: string, events: EventBody[] = [], then?: ScriptStep[]) => msg('Query', pgQuery(sql), { events, ...(then ? { then } : {}) });
const columns = (...names: string[]) => msg('RowDescription', pgRowDescription(names));
const rows = (n: number, from = 0, masked = false) =>
  Array.from({ length: n }, (_, i) => msg('DataRow', pgDataRow([String(from + i), masked ? '[masked:email]' : `row ${from + i}`]), masked ? { masks: [{ detector: 'email', location: 'column note', count: 1 }] } : {}));
const complete = (tag: string) => msg('CommandComplete', pgCommandComplete(tag));
const ready = () => msg('ReadyForQuery', pgReadyForQuery());

/** What the transcripts of a script must show, v1 and v2 alike. */
export const SCRIPTS: Record<string, { steps: ScriptStep[]; shows: RegExp[] }> = {
  'a big result split over several frames, then the next statement': {
    steps: [
      { at: ms(0), event: started },
      { at: ms(1), client: [query('SELECT id, note FROM big', decided(1, 'SELECT id, note FROM big'))] },
      { at: ms(2), server: [columns('id', 'note'), ...rows(100)] },
      { at: ms(3), server: rows(100, 100) },
      { at: ms(4), server: [...rows(50, 200), complete('SELECT 250'), ready()] },
      { at: ms(5), client: [query('SELECT 1', decided(2, 'SELECT 1'))] },
      { at: ms(6), server: [columns('?column?'), msg('DataRow', pgDataRow(['1'])), complete('SELECT 1'), ready()] },
      { at: ms(7), event: ended },
    ],
    shows: [/ {2}49 {2}row 49\n {2}… 200 more rows\n {2}\(SELECT 250\)/, /#2 SELECT\n {2}SELECT 1\n.*\n\n {2}\?column\?\n {2}-+\n {2}1\n {2}\(SELECT 1\)/],
  },
  'pipelined statements: a frame ends one result and holds the next ReadyForQuery and result': {
    steps: [
      { at: ms(0), event: started },
      { at: ms(1), client: [query('SELECT a FROM t', decided(1, 'SELECT a FROM t')), query('SELECT b FROM u', decided(2, 'SELECT b FROM u'))] },
      { at: ms(2), server: [columns('a'), ...rows(2)] },
      { at: ms(3), server: [...rows(1, 2), complete('SELECT 3'), ready(), columns('b'), ...rows(2, 10), complete('SELECT 2')] },
      { at: ms(4), server: [ready()] },
      { at: ms(5), event: ended },
    ],
    shows: [/#1 SELECT\n {2}SELECT a FROM t\n.*\n\[[\d:.]+\] #2 SELECT/, / {2}a\n {2}-\n {2}0\n {2}1\n {2}2\n {2}\(SELECT 3\)\n\n {2}b\n {2}--\n {2}10\n {2}11\n {2}\(SELECT 2\)/],
  },
  'an extended-protocol batch in one frame, two statements, answered in one frame': {
    steps: [
      { at: ms(0), event: started },
      {
        at: ms(1),
        client: [
          msg('Parse', pgParse('SELECT id FROM t WHERE id = $1')), msg('Bind', pgBind(['7']), { events: decided(1, 'SELECT id FROM t WHERE id = $1') }),
          msg('Describe', pgDescribePortal()), msg('Execute', pgExecute()),
          msg('Parse', pgParse('UPDATE t SET n = n + 1')), msg('Bind', pgBind([]), { events: decided(2, 'UPDATE t SET n = n + 1') }), msg('Execute', pgExecute()),
          msg('Sync', pgSync()),
        ],
      },
      {
        at: ms(2),
        server: [
          msg('ParseComplete', pgParseComplete()), msg('BindComplete', pgBindComplete()), columns('id'), msg('DataRow', pgDataRow(['7'])), complete('SELECT 1'),
          msg('ParseComplete', pgParseComplete()), msg('BindComplete', pgBindComplete()), complete('UPDATE 4'), ready(),
        ],
      },
      { at: ms(3), event: ended },
    ],
    // Each execution's result under its own statement, by the protocol's order (not all under the last Command).
    shows: [/#1 SELECT\n {2}SELECT id FROM t WHERE id = \$1\n.*ALLOW.*\n\[[\d:.]+\] #2 UPDATE\n/, / {2}↳ result of #1\n\n {2}id\n {2}--\n {2}7\n {2}\(SELECT 1\)\n {2}↳ result of #2\n {2}\(UPDATE 4\)/],
  },
  'a pipeline (psycopg): four executions before one Sync, the third fails, the fourth is skipped': {
    steps: [
      { at: ms(0), event: started },
      ...['SELECT 1 AS a', 'SELECT g FROM generate_series(1, 2) g', 'SELECT 1 / 0', "SELECT 'four'"].map((sql, i): ScriptStep => ({
        at: ms(1) + i,
        client: [msg('Parse', pgParse(sql)), msg('Bind', pgBind([]), { events: decided(i + 1, sql) }), msg('Describe', pgDescribePortal()), msg('Execute', pgExecute())],
      })),
      {
        at: ms(2),
        server: [
          msg('ParseComplete', pgParseComplete()), msg('BindComplete', pgBindComplete()), columns('a'), msg('DataRow', pgDataRow(['1'])), complete('SELECT 1'),
          msg('ParseComplete', pgParseComplete()), msg('BindComplete', pgBindComplete()), columns('g'), msg('DataRow', pgDataRow(['1'])), msg('DataRow', pgDataRow(['2'])), complete('SELECT 2'),
          msg('ParseComplete', pgParseComplete()), msg('BindComplete', pgBindComplete()), msg('ErrorResponse', pgErrorResponse('22012', 'division by zero')),
        ],
      },
      { at: ms(3), client: [msg('Sync', pgSync())] },
      { at: ms(4), server: [ready()] },
      { at: ms(5), client: [query('SELECT 5', decided(5, 'SELECT 5'))] },
      { at: ms(6), server: [columns('?column?'), msg('DataRow', pgDataRow(['5'])), complete('SELECT 1'), ready()] },
      { at: ms(7), event: ended },
    ],
    shows: [
      /↳ result of #1\n\n {2}a\n {2}-\n {2}1\n {2}\(SELECT 1\)\n {2}↳ result of #2\n\n {2}g\n {2}-\n {2}1\n {2}2\n {2}\(SELECT 2\)\n {2}↳ result of #3\n {2}ERROR 22012: division by zero\n {2}↳ #4 not executed: /,
      /#5 SELECT\n {2}SELECT 5\n.*ALLOW.*\n\n {2}\?column\?\n {2}-+\n {2}5\n {2}\(SELECT 1\)/,
    ],
  },
  'an empty query and a query of two statements in one write, masked rows, a denial': {
    steps: [
      { at: ms(0), event: started },
      { at: ms(1), client: [query(''), query('SELECT 1; SELECT id, note FROM c', [...decided(1, 'SELECT 1'), ...decided(2, 'SELECT id, note FROM c')])] },
      { at: ms(2), server: [msg('EmptyQueryResponse', pgEmptyQueryResponse()), columns('?column?'), msg('DataRow', pgDataRow(['1'])), complete('SELECT 1')] },
      { at: ms(3), server: [columns('id', 'note'), ...rows(2, 0, true)] },
      { at: ms(4), server: [...rows(1, 2, true), complete('SELECT 3'), ready()] },
      { at: ms(5), client: [query('DROP TABLE c', decided(3, 'DROP TABLE c', 'DENY'))] },
      { at: ms(6), server: [msg('ErrorResponse', pgErrorResponse('42501', 'chaperone: denied by policy')), ready()] },
      { at: ms(7), event: ended },
    ],
    shows: [/\(no command recorded\)\n {2}\n\[[\d:.]+\] #1 SELECT/, /\(masked: 3× email in column note\)/, /DENY: policy says so.*\n {2}ERROR 42501: chaperone: denied by policy/],
  },
  'answers to a statement forwarded before an approval wait, in the same write as the held one': {
    steps: [
      { at: ms(0), event: started },
      {
        at: ms(1),
        client: [
          query('SELECT 1', decided(1, 'SELECT 1')),
          query('DELETE FROM t', [
            ...decided(2, 'DELETE FROM t', 'APPROVAL'),
            { type: 'ApprovalRequested', commandId: 2, approvalId: 'ap-1', bindingSha256: '', approverGroups: ['dba'], quorum: 1, ttlMs: 60_000 },
          ], [
            { at: ms(2), server: [columns('?column?'), msg('DataRow', pgDataRow(['1'])), complete('SELECT 1'), ready()] },
            { at: ms(3), event: { type: 'ApprovalResolved', commandId: 2, approvalId: 'ap-1', outcome: 'APPROVED', approvers: ['dba:ann'], reason: '' } },
          ]),
          query('SELECT 2', decided(3, 'SELECT 2')),
        ],
      },
      { at: ms(4), server: [complete('DELETE 5'), ready(), columns('?column?'), msg('DataRow', pgDataRow(['2'])), complete('SELECT 1'), ready()] },
      { at: ms(5), event: ended },
    ],
    shows: [/approval ap-1: APPROVED by dba:ann\n\[[\d:.]+\] #3 SELECT/, /#2 DELETE[\s\S]*\(SELECT 1\)[\s\S]*#3 SELECT[\s\S]*\(DELETE 5\)/],
  },
};

/** The text of a live transcript without the counts line (a v2 recording has fewer events and frames). */
function liveText(events: EventMsg[], maxRows = 50): string {
  const live = new LiveTranscript({ maxRows });
  return (events.map((e) => live.push(e)).join('') + live.end()).replace(/^ {2}\d+ events?, .*\n/m, '');
}

/** A transcript's commands without seqs (a v2 recording numbers its events differently). */
const commands = (t: Transcript) => t.commands.map(({ seq: _, ...c }) => c);

function streamedJson(events: EventMsg[]): string {
  const w = new TranscriptJsonWriter();
  return events.map((e) => w.push(e)).join('') + w.end();
}

describe('multi-message frames (events v2)', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(`reads as v1 did: ${name}`, () => {
      const v1 = recordScript(script.steps, 'v1', 'script');
      const v2 = recordScript(script.steps, 'v2', 'script');
      assert.ok(v2.length < v1.length, 'v2 groups messages into fewer frames');
      const text = liveText(v2);
      assert.equal(text, liveText(v1));
      for (const re of script.shows) assert.match(text, re);
      assert.deepEqual(commands(buildTranscript(v2)), commands(buildTranscript(v1)));
      for (const events of [v1, v2]) assert.equal(streamedJson(events), `${JSON.stringify(transcriptDocument(buildTranscript(events)), null, 2)}\n`);
    });
  }

  it('attributes pipelined results and errors to their own statements', () => {
    const t = buildTranscript(recordScript(SCRIPTS['a pipeline (psycopg): four executions before one Sync, the third fails, the fourth is skipped']!.steps, 'v2'));
    assert.deepEqual(
      t.commands.map((c) => [c.commandId, c.result.rows, c.result.tag, c.result.error?.code, c.result.notExecuted]),
      [[1, [['1']], 'SELECT 1', undefined, undefined], [2, [['1'], ['2']], 'SELECT 2', undefined, undefined], [3, [], undefined, '22012', undefined], [4, [], undefined, undefined, true], [5, [['5']], 'SELECT 1', undefined, undefined]],
    );
  });

  it('attributes results as v1 did and keeps every row in the whole transcript', () => {
    const t = buildTranscript(recordScript(SCRIPTS['a big result split over several frames, then the next statement']!.steps, 'v2'));
    assert.deepEqual(t.commands.map((c) => [c.commandId, c.result.rows.length, c.result.tag]), [[1, 250, 'SELECT 250'], [2, 1, 'SELECT 1']]);
    assert.deepEqual(t.commands[0]!.result.rows[249], ['249', 'row 249']);
    const empty = buildTranscript(recordScript(SCRIPTS['an empty query and a query of two statements in one write, masked rows, a denial']!.steps, 'v2'));
    assert.deepEqual(empty.commands.map((c) => [c.commandId, c.text]), [[0, ''], [1, 'SELECT 1'], [2, 'SELECT id, note FROM c'], [3, 'DROP TABLE c']]);
  });

  it('prints a big result as soon as it holds maxRows rows, then only counts', () => {
    const events = recordScript(SCRIPTS['a big result split over several frames, then the next statement']!.steps, 'v2');
    const live = new LiveTranscript({ maxRows: 10 });
    const out = events.map((e) => [e.seq, live.push(e)] as const);
    const firstResultFrame = events.findIndex((e) => e.type === 'Frame' && e.direction === 'SERVER_TO_CLIENT');
    assert.match(out[firstResultFrame]![1], /^\n {2}id {2}note\n {2}-+ {2}-+\n {2}0 {3}row 0\n[\s\S]* {2}9 {3}row 9\n$/, 'the table comes with the first frame');
    assert.equal(out[firstResultFrame + 1]![1], '', 'rows past maxRows print nothing');
    assert.equal(out[firstResultFrame + 2]![1], '  … 240 more rows\n  (SELECT 250)\n');
  });

  it('streams --json without holding rows: the first row is written with the first frame', () => {
    const events = recordScript(SCRIPTS['a big result split over several frames, then the next statement']!.steps, 'v2');
    const w = new TranscriptJsonWriter();
    const chunks = events.map((e) => w.push(e));
    const firstResultFrame = events.findIndex((e) => e.type === 'Frame' && e.direction === 'SERVER_TO_CLIENT');
    assert.equal(chunks.slice(0, firstResultFrame).join(''), '', 'nothing before the first row: the session head waits for it');
    assert.match(chunks[firstResultFrame]!, /"rows": \[\n {10}\[\n {12}"0",\n {12}"row 0"\n {10}\],/);
    assert.equal(chunks[firstResultFrame]!.match(/"row \d+"/g)?.length, 100);
    const doc = JSON.parse(chunks.join('') + w.end()) as ReturnType<typeof transcriptDocument>;
    assert.equal((doc.commands as { result: { rows: unknown[] } }[])[0]!.result.rows.length, 250);
  });

  it('reads a store fixture the same with v1 and with v2 frames', () => {
    const queries = [
      { sql: 'SELECT id, email FROM customers', columns: ['id', 'email'], rows: Array.from({ length: 60 }, (_, i) => [String(i), `u${i}@example.com`]) },
      { sql: 'DELETE FROM customers', decision: 'DENY' as const },
      { sql: 'SELECT * FROM missing', error: 'relation "missing" does not exist' },
    ];
    const startMicros = T0;
    const v1 = fixtureSession({ sessionId: 'fx-same', startMicros, queries, v1Queries: queries.length });
    const v2 = fixtureSession({ sessionId: 'fx-same', startMicros, queries, v1Queries: 0 });
    const msgs = (f: ReturnType<typeof fixtureSession>) => recordedAsApi(f);
    // The fixture spaces events 1 ms apart, and v2 records fewer: compare without times.
    const untimed = (s: string) => s.replace(/\d\d:\d\d:\d\d\.\d{6}/g, 'T');
    assert.equal(untimed(liveText(msgs(v2))), untimed(liveText(msgs(v1))));
    assert.match(liveText(msgs(v2)), / {2}… 10 more rows\n {2}\(SELECT 60\)/);
    const strip = (t: Transcript) => commands(t).map(({ tsMicros: _, ...c }) => c);
    assert.deepEqual(strip(buildTranscript(msgs(v2))), strip(buildTranscript(msgs(v1))));
  });
});

/** A fixture's events as the API sends them. */
function recordedAsApi(f: ReturnType<typeof fixtureSession>): EventMsg[] {
  return f.events.map(({ event, body, hash }) => ({
    sessionId: event.sessionId, seq: event.seq, tsMicros: event.tsMicros, nodeId: event.nodeId, type: event.body.type,
    direction: event.body.type === 'Frame' ? event.body.direction : '', messageType: event.body.type === 'Frame' ? event.body.messageType : '',
    commandId: 'commandId' in event.body ? event.body.commandId : 0, payload: event.body.type === 'Frame' ? event.body.bytes : Buffer.alloc(0),
    redacted: false, avro: body, hash: hash.toString('hex'), prevHash: Buffer.from(event.prevHash).toString('hex'),
  }));
}
