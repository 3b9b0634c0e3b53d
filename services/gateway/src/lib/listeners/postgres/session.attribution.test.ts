/**
 * Client frames name the commands they carry (events v3): the gateway decides a write's
 * statements and gives them ids before it records the write, then records the Frame and its
 * Command and Decision events together, still before anything goes upstream (the fake upstream
 * checks every frame it receives was recorded first). An in-process listener in front of the fake
 * upstream; the live stack's side is e2e postgres-pipeline.it.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { frameMessageCommands, type EventBody, type Frame } from '@chaperone/events';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import { encodeBind, encodeDescribe, encodeExecute, encodeParse, encodeQuery, encodeSync } from '../../protocols/postgres/index.js';
import { startPgHarness, type PgHarness } from './testing/harness.js';
import { RawPgClient } from './testing/raw-client.js';

const T = 5000;

function policy(input: PolicyInput): PolicyDecision {
  const base = { reasons: [] as string[], revision: 'test', evalMicros: 0, output: {} };
  return input.command.text.includes('forbidden') ? { ...base, result: 'deny', reasons: ['forbidden here'] } : { ...base, result: 'allow' };
}

/** A client frame as the tests read it: each message's type and command. */
const described = (f: Frame) => f.messageTypes.map((t, i) => `${t}:${frameMessageCommands(f)[i]}`);

describe('client frames carry their commands', () => {
  let h: PgHarness;
  let app = 0;

  before(async () => {
    h = await startPgHarness({ idleTimeout: '30s', maxMessageBytes: '1MiB', policy, keepEvents: true });
  });
  after(async () => {
    await h.close();
  });

  /** A logged-in client and a reader of its session's events (after the login). */
  async function connect(): Promise<{ c: RawPgClient; events: () => EventBody[] }> {
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: T });
    const name = `attribution-${++app}`;
    const login = await c.login({ user: h.subject, database: 'fake', applicationName: name, token: h.token }, T);
    assert.ok(login.ok, login.ok ? '' : login.error);
    const session = () =>
      [...h.sink.kept!.values()].find((es) => es[0]?.type === 'SessionStarted' && (JSON.parse(es[0].attributesJson) as { application_name?: string }).application_name === name) ?? [];
    const skip = session().length;
    return { c, events: () => session().slice(skip).filter((e) => e.type !== 'Frame' || e.direction === 'CLIENT_TO_SERVER' || e.messageType === 'chaperone.abort-transaction') };
  }

  /** The events as one line each: client frames with their messages' commands, Command/Decision by id. */
  const shape = (es: EventBody[]) =>
    es.map((e) =>
      e.type === 'Frame' ? (e.messageType === 'chaperone.abort-transaction' ? 'abort' : described(e).join(' ')) : e.type === 'Command' || e.type === 'Decision' ? `${e.type} ${e.commandId}` : e.type,
    );

  it('a simple query, and one of several statements, before their Command events', async () => {
    const { c, events } = await connect();
    await c.query('SELECT 1', T);
    await c.query('SELECT 2; SELECT 3', T);
    assert.deepEqual(shape(events()), ['Query:1', 'Command 1', 'Decision 1', 'Query:2', 'Command 2', 'Decision 2', 'Command 3', 'Decision 3']);
    const multi = events()[3] as Frame;
    assert.deepEqual([multi.commandIds, multi.commandStarts], [[2, 3], [0, 1]], 'the second statement: an empty run after the message');
    await c.terminate(T);
  });

  it('a pipelined extended batch: each Bind, Describe and Execute carries its execution, Parse and Sync none', async () => {
    const { c, events } = await connect();
    const execution = (sql: string) => [encodeParse({ sql }), encodeBind({}), encodeDescribe({ kind: 'P' }), encodeExecute({})];
    c.write(Buffer.concat([...execution('SELECT 1'), ...execution('SELECT 2'), encodeDescribe({ kind: 'S' }), encodeSync()]));
    await c.untilReady(T, 'the batch');
    assert.deepEqual(shape(events()), [
      'Parse:0 Bind:1 Describe:1 Execute:1 Parse:0 Bind:2 Describe:2 Execute:2 Describe:0 Sync:0',
      'Command 1',
      'Decision 1',
      'Command 2',
      'Decision 2',
    ]);
    await c.terminate(T);
  });

  it('a refused statement in a transaction: its frame, its Command, then the gateway’s own failing statement', async () => {
    const { c, events } = await connect();
    c.write(Buffer.concat([encodeQuery('BEGIN'), encodeQuery('SELECT forbidden'), encodeQuery('COMMIT')]));
    for (const what of ['BEGIN', 'the refusal', 'COMMIT']) await c.untilReady(T, what);
    assert.deepEqual(shape(events()), ['Query:1 Query:2 Query:3', 'Command 1', 'Decision 1', 'Command 2', 'Decision 2', 'abort', 'Command 3', 'Decision 3']);
    await c.terminate(T);
  });

  it('an empty query names no command (and does not take the next one’s id)', async () => {
    const { c, events } = await connect();
    await c.query('', T);
    await c.query('SELECT 1', T);
    assert.deepEqual(shape(events()), ['Query:0', 'Query:1', 'Command 1', 'Decision 1']);
    await c.terminate(T);
  });

  it('a refused Parse carries its Command; the rest of its batch, discarded, none', async () => {
    const { c, events } = await connect();
    c.write(Buffer.concat([encodeParse({ sql: 'SELECT forbidden' }), encodeBind({}), encodeExecute({}), encodeSync()]));
    await c.untilReady(T, 'the refusal');
    assert.deepEqual(shape(events()), ['Parse:1 Bind:0 Execute:0 Sync:0', 'Command 1', 'Decision 1']);
    await c.terminate(T);
    assert.deepEqual(h.upstream.violations, [], 'nothing reached the upstream unrecorded');
    assert.deepEqual(h.sink.violations, []);
  });
});
