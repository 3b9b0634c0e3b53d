/**
 * A refused statement fails its transaction as an error would (tx-abort.ts), at the protocol
 * level: an in-process listener in front of the fake upstream (which keeps a transaction status
 * for BEGIN / COMMIT and errors). The real PostgreSQL side is in the e2e suite
 * (postgres-fidelity.it.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import { Backend, decodeErrorFields, decodeReadyForQuery, encodeQuery, type PgMessage } from '../../protocols/postgres/index.js';
import { startPgHarness, type PgHarness } from './testing/harness.js';
import { RawPgClient } from './testing/raw-client.js';

const T = 5000;

function policy(input: PolicyInput): PolicyDecision {
  const base = { reasons: [] as string[], revision: 'test', evalMicros: 0, output: {} };
  return input.command.text.includes('forbidden') ? { ...base, result: 'deny', reasons: ['forbidden here'] } : { ...base, result: 'allow' };
}

const codes = (ms: PgMessage[]) => ms.map((m) => String.fromCharCode(m.code)).join('');
const status = (ms: PgMessage[]) => decodeReadyForQuery(ms.at(-1)!.payload);
const error = (ms: PgMessage[]) => {
  const e = ms.find((m) => m.code === Backend.ErrorResponse);
  return e ? decodeErrorFields(e.payload) : undefined;
};

describe('refused statements and transactions', () => {
  let h: PgHarness;
  let app = 0;

  before(async () => {
    h = await startPgHarness({ idleTimeout: '30s', maxMessageBytes: '1MiB', policy, keepEvents: true });
  });
  after(async () => {
    await h.close();
  });

  async function connect(): Promise<RawPgClient> {
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: T });
    const login = await c.login({ user: h.subject, database: 'fake', applicationName: `refusal-tx-${++app}`, token: h.token }, T);
    assert.ok(login.ok, login.ok ? '' : login.error);
    return c;
  }

  it('outside a transaction block answers the refusal itself and sends nothing upstream', async () => {
    const c = await connect();
    const before = h.upstream.counts.framesReceived;
    const got = await c.query('SELECT forbidden', T);
    assert.equal(codes(got), 'EZ');
    assert.equal(status(got), 'I');
    assert.equal(error(got)?.M, 'chaperone: denied by policy: forbidden here');
    assert.equal(h.upstream.counts.framesReceived, before);
    await c.terminate(T);
  });

  it('inside BEGIN … COMMIT aborts the transaction: 25P02 after it, COMMIT rolls back', async () => {
    const c = await connect();
    assert.equal(status(await c.query('BEGIN', T)), 'T');
    const refused = await c.query('SELECT forbidden', T);
    assert.equal(codes(refused), 'EZ');
    assert.equal(error(refused)?.C, '42501');
    assert.equal(error(refused)?.M, 'chaperone: denied by policy: forbidden here', 'the refusal, not the upstream error it replaces');
    assert.equal(status(refused), 'E');
    assert.equal(error(await c.query('SELECT 1', T))?.C, '25P02');
    const commit = await c.query('COMMIT', T);
    assert.equal(codes(commit), 'CZ');
    assert.match(commit[0]!.payload.toString('latin1'), /^ROLLBACK/);
    await c.terminate(T);
  });

  it('aborts also when the refused statement is pipelined right behind a BEGIN not answered yet', async () => {
    const c = await connect();
    c.write(Buffer.concat([encodeQuery('BEGIN'), encodeQuery('SELECT forbidden'), encodeQuery('COMMIT')]));
    const begin = await c.untilReady(T, 'BEGIN');
    const refused = await c.untilReady(T, 'the refusal');
    const commit = await c.untilReady(T, 'COMMIT');
    assert.deepEqual([codes(begin), codes(refused), codes(commit)], ['CZ', 'EZ', 'CZ']);
    assert.deepEqual([status(begin), status(refused), status(commit)], ['T', 'E', 'I']);
    assert.equal(error(refused)?.M, 'chaperone: denied by policy: forbidden here');
    assert.match(commit[0]!.payload.toString('latin1'), /^ROLLBACK/);
    // The gateway's own statement was recorded before it went upstream (the fake upstream
    // checks every frame it receives was recorded first).
    const aborts = [...h.sink.kept!.values()].flat().filter((e) => e.type === 'Frame' && e.messageType === 'chaperone.abort-transaction');
    assert.ok(aborts.length >= 1);
    await c.terminate(T);
  });
});
