/**
 * Statements held for approval, at the protocol level: an in-process listener in front of the
 * fake upstream, a policy that sends DELETE to approval, and a scripted approval gate (the
 * Temporal side is covered by gate.test.ts and the e2e suite). What the client reads, what the
 * upstream receives and what is recorded, message by message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventBody } from '@chaperone/events';
import { type ApprovalGate, type HoldOptions, type HoldOutcome, type HoldRequest } from '../../approvals/index.js';
import { approvalBinding, approvalWorkflowId } from '@chaperone/approvals-contract';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import {
  Backend,
  decodeBackendKeyData,
  decodeErrorFields,
  encodeBind,
  encodeCancelRequest,
  encodeDescribe,
  encodeExecute,
  encodeParse,
  encodeQuery,
  encodeSync,
  type PgMessage,
} from '../../protocols/postgres/index.js';
import { cancelKey, type CancelBus } from './cancel-bus.js';
import { startPgHarness, type PgHarness } from './testing/harness.js';
import { RawPgClient } from './testing/raw-client.js';

const DEL = 'DELETE FROM orders WHERE id = $1';
const T = 5000;

function policy(input: PolicyInput): PolicyDecision {
  const base = { reasons: [] as string[], revision: 'test', evalMicros: 0, output: {} };
  if (/^delete/i.test(input.command.text))
    return { ...base, result: 'approval', reasons: ['deletes need a DBA'], approval: { approverGroups: ['dba'], quorum: 1, ttlMs: 60_000 } };
  if (input.command.text.includes('forbidden')) return { ...base, result: 'deny', reasons: ['forbidden'] };
  return { ...base, result: 'allow' };
}

/** Answers holds when the test says; an aborted hold ends ABANDONED, as the Temporal gate's does. */
class ScriptedGate implements ApprovalGate {
  readonly requests: HoldRequest[] = [];
  aborted = 0;
  private readonly pending: ((o: HoldOutcome) => void)[] = [];

  async hold(req: HoldRequest, opts: HoldOptions = {}): Promise<HoldOutcome> {
    this.requests.push(req);
    const bindingSha256 = approvalBinding(req.subject, req.connection, req.commandText);
    const approvalId = approvalWorkflowId(bindingSha256);
    const request = {
      approvalId, sessionId: req.sessionId, commandId: String(req.commandId), subject: req.subject, connection: req.connection, commandText: req.commandText,
      commandSha256: '', approverGroups: req.requirement.approverGroups, ttlMs: req.requirement.ttlMs, quorum: req.requirement.quorum, validForMs: 0, reasons: req.reasons,
    };
    await opts.onTicket?.({ approvalId, bindingSha256, request, reused: false });
    return await new Promise<HoldOutcome>((resolve) => {
      const abandon = () => (this.aborted++, resolve({ outcome: 'ABANDONED', approvalId, approvers: [], reason: 'the session ended while waiting' }));
      if (opts.signal?.aborted) return abandon();
      opts.signal?.addEventListener('abort', abandon, { once: true });
      this.pending.push((o) => resolve({ ...o, approvalId }));
    });
  }

  answer(outcome: 'APPROVED' | 'DENIED'): void {
    const r = this.pending.shift();
    assert.ok(r, 'nothing is waiting for approval');
    r({ outcome, approvalId: '', approvers: ['user:alice (cli)'], reason: outcome === 'DENIED' ? 'add a WHERE clause' : '' });
  }

  async waitForRequests(n: number): Promise<void> {
    const deadline = Date.now() + T;
    while (this.requests.length < n || this.pending.length === 0) {
      if (Date.now() > deadline) assert.fail(`expected ${n} approval requests, got ${this.requests.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A bus whose other nodes are the test: it sees what this node publishes and delivers what the test sends. */
class TestBus implements CancelBus {
  readonly published: string[] = [];
  deliver: (key: string) => void = () => {};
  publish(key: string): Promise<void> {
    this.published.push(key);
    return Promise.resolve();
  }
  onCancel(handler: (key: string) => void): void {
    this.deliver = handler;
  }
}

const codes = (ms: PgMessage[]) => ms.map((m) => String.fromCharCode(m.code)).join('');
const withoutNotices = (ms: PgMessage[]) => ms.filter((m) => m.code !== Backend.NoticeResponse);
const errorOf = (ms: PgMessage[]) => {
  const e = ms.find((m) => m.code === Backend.ErrorResponse);
  return e ? decodeErrorFields(e.payload) : undefined;
};
const batch = (sql: string, param: string) =>
  Buffer.concat([encodeParse({ sql }), encodeBind({ params: [Buffer.from(param)] }), encodeDescribe({ kind: 'P' }), encodeExecute(), encodeSync()]);

describe('PostgreSQL statements held for approval', () => {
  let h: PgHarness;
  const gate = new ScriptedGate();
  const bus = new TestBus();
  let app = 0;

  before(async () => {
    h = await startPgHarness({ idleTimeout: '30s', maxMessageBytes: '1MiB', policy, approvals: gate, cancels: bus, keepEvents: true });
  });
  after(async () => {
    await h.close();
  });

  async function connect(): Promise<{ c: RawPgClient; key: { processId: number; secretKey: number }; events: () => EventBody[] }> {
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: T });
    const applicationName = `approval-test-${++app}`;
    const login = await c.login({ user: h.subject, database: 'fake', applicationName, token: h.token }, T);
    assert.ok(login.ok, login.ok ? '' : login.error);
    const kd = login.greeting.find((m) => m.code === Backend.BackendKeyData)!;
    const events = () => [...h.sink.kept!.values()].find((evs) => evs[0]?.type === 'SessionStarted' && evs[0].attributesJson.includes(applicationName)) ?? [];
    return { c, key: decodeBackendKeyData(kd.payload), events };
  }

  it('holds a whole extended batch until approved, then forwards it; the Command carries the bound values', async () => {
    const { c, events } = await connect();
    const upstreamBefore = h.upstream.counts.framesReceived;
    c.write(batch(DEL, '7'));
    const waiting = await c.next(T, 'the waiting notice');
    assert.equal(waiting?.code, Backend.NoticeResponse);
    assert.match(decodeErrorFields(waiting.payload).M ?? '', /waiting for approval approval-[0-9a-f]{64} from dba: deletes need a DBA/);
    await gate.waitForRequests(1);
    assert.equal(h.upstream.counts.framesReceived, upstreamBefore, 'nothing of the batch (not even the Parse) reached the upstream');
    assert.equal(gate.requests[0]!.commandText, DEL, 'the approval is bound to the SQL text');
    gate.answer('APPROVED');
    const rest = await c.untilReady(T, 'the batch');
    assert.equal(codes(rest), 'N12nCZ', 'approved notice, then the upstream answers to Parse, Bind, Describe, Execute, Sync');
    assert.equal(h.upstream.counts.framesReceived, upstreamBefore + 5);
    const evs = events();
    const cmd = evs.find((e) => e.type === 'Command');
    assert.ok(cmd?.type === 'Command');
    assert.deepEqual([cmd.text, cmd.params], [DEL, ['7']]);
    const requested = evs.find((e) => e.type === 'ApprovalRequested');
    const resolved = evs.find((e) => e.type === 'ApprovalResolved');
    assert.ok(requested?.type === 'ApprovalRequested' && resolved?.type === 'ApprovalResolved');
    assert.equal(requested.commandId, cmd.commandId);
    assert.equal(resolved.outcome, 'APPROVED');
    await c.terminate(T);
  });

  it('answers a denied batch with ErrorResponse and ReadyForQuery and forwards none of it; the session goes on', async () => {
    const { c } = await connect();
    const upstreamBefore = h.upstream.counts.framesReceived;
    c.write(batch(DEL, '8'));
    await gate.waitForRequests(2);
    gate.answer('DENIED');
    const got = await c.untilReady(T, 'the refusal');
    assert.equal(codes(withoutNotices(got)), 'EZ');
    assert.equal(errorOf(got)?.C, '42501');
    assert.match(errorOf(got)?.M ?? '', /was denied by user:alice \(cli\): add a WHERE clause; the statement was not run/);
    assert.equal(h.upstream.counts.framesReceived, upstreamBefore);
    assert.equal(codes(await c.query('SELECT 1', T)), 'TDCZ');
    await c.terminate(T);
  });

  it('puts the refusal after the answers to the part of the batch that went upstream', async () => {
    const { c } = await connect();
    c.write(Buffer.concat([encodeParse({ sql: 'SELECT $1' }), encodeBind({ params: [Buffer.from('5')] }), encodeExecute(), encodeParse({ sql: DEL }), encodeBind({ params: [Buffer.from('9')] }), encodeExecute(), encodeSync()]));
    await gate.waitForRequests(3);
    gate.answer('DENIED');
    const got = await c.untilReady(T, 'the batch');
    assert.equal(codes(withoutNotices(got)), '12DCEZ', 'SELECT answered, then the refusal, then the ReadyForQuery answering the Sync');
    // The part that went upstream is rolled back with the batch: the upstream was made to fail
    // (tx-abort.ts) and the client reads the refusal in place of that failure.
    assert.equal(errorOf(got)?.C, '42501');
    assert.match(errorOf(got)?.M ?? '', /was denied by user:alice/);
    assert.equal(codes(await c.query('SELECT 2', T)), 'TDCZ');
    await c.terminate(T);
  });

  it('lets a batch that only prepares such a statement through, and holds its executions', async () => {
    const { c } = await connect();
    const asked = gate.requests.length;
    c.write(Buffer.concat([encodeParse({ name: 'del', sql: DEL }), encodeDescribe({ kind: 'S', name: 'del' }), encodeSync()]));
    assert.equal(codes(await c.untilReady(T, 'the prepare')), '1tnZ');
    assert.equal(gate.requests.length, asked, 'preparing runs nothing: no approval asked');
    c.write(Buffer.concat([encodeBind({ statement: 'del', params: [Buffer.from('10')] }), encodeExecute(), encodeSync()]));
    await gate.waitForRequests(asked + 1);
    gate.answer('APPROVED');
    assert.equal(codes(withoutNotices(await c.untilReady(T, 'the execution'))), '2CZ');
    await c.terminate(T);
  });

  it('cuts a write at a held statement: what follows it is recorded, with its commands, once decided after the wait', async () => {
    const { c, events } = await connect();
    const asked = gate.requests.length + 1;
    c.write(Buffer.concat([encodeQuery('SELECT 1'), encodeQuery('DELETE FROM orders WHERE id = 13'), encodeQuery('SELECT 2')]));
    await gate.waitForRequests(asked);
    gate.answer('APPROVED');
    for (const what of ['SELECT 1', 'the DELETE', 'SELECT 2']) await c.untilReady(T, what);
    const shape = events()
      .filter((e) => (e.type === 'Frame' && e.direction === 'CLIENT_TO_SERVER') || e.type === 'Command' || e.type === 'ApprovalResolved')
      .map((e) => (e.type === 'Frame' ? `${e.messageTypes.join(' ')} ${JSON.stringify(e.commandIds)}` : e.type === 'Command' ? `Command ${e.commandId}` : e.type));
    assert.deepEqual(shape, ['Query Query [1,2]', 'Command 1', 'Command 2', 'ApprovalResolved', 'Query [3]', 'Command 3']);
    await c.terminate(T);
  });

  it('ends a wait on a CancelRequest (57014), records why the command did not run, and the session goes on', async () => {
    const { c, key, events } = await connect();
    const asked = gate.requests.length + 1;
    c.write(batch(DEL, '11'));
    await gate.waitForRequests(asked);
    const aborted = gate.aborted;
    const cancel = await RawPgClient.connect(h.port, { tls: false, timeoutMs: T });
    cancel.end(encodeCancelRequest(key.processId, key.secretKey));
    const got = await c.untilReady(T, 'the cancel');
    assert.equal(codes(withoutNotices(got)), 'EZ');
    assert.equal(errorOf(got)?.C, '57014');
    assert.equal(errorOf(got)?.M, 'canceling statement due to user request');
    assert.equal(gate.aborted, aborted + 1);
    assert.deepEqual(bus.published, [], 'the session is on this node: the other nodes are not bothered');
    const cmd = events().find((e) => e.type === 'Command' && e.params[0] === '11');
    const decisions = events().filter((e) => e.type === 'Decision' && cmd?.type === 'Command' && e.commandId === cmd.commandId);
    assert.deepEqual(decisions.map((d) => d.type === 'Decision' && d.result), ['APPROVAL', 'DENY']);
    assert.equal(codes(await c.query('SELECT 3', T)), 'TDCZ');
    await c.terminate(T);
  });

  it('records what followed a held statement in its write when the session ends during the wait', async () => {
    const { c, events } = await connect();
    const asked = gate.requests.length + 1;
    c.write(Buffer.concat([encodeQuery('DELETE FROM orders WHERE id = 14'), encodeQuery('SELECT 3')]));
    await gate.waitForRequests(asked);
    c.destroy();
    const deadline = Date.now() + T;
    while (events().at(-1)?.type !== 'SessionEnded' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const frames = events().filter((e) => e.type === 'Frame' && e.direction === 'CLIENT_TO_SERVER');
    assert.deepEqual(frames.map((e) => e.type === 'Frame' && [e.messageTypes, e.commandIds ?? []]), [[['Query'], [1]], [['Query'], []]]);
    assert.equal(events().at(-1)?.type, 'SessionEnded');
  });

  it('passes a cancel for a session it does not have to the other nodes, and ends a wait on a cancel they pass on', async () => {
    const stranger = await RawPgClient.connect(h.port, { tls: false, timeoutMs: T });
    stranger.end(encodeCancelRequest(4242, 99));
    const deadline = Date.now() + T;
    while (bus.published.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(bus.published, [cancelKey(4242, 99)]);

    const { c, key } = await connect();
    const asked = gate.requests.length + 1;
    c.write(batch(DEL, '12'));
    await gate.waitForRequests(asked);
    bus.deliver(cancelKey(key.processId, key.secretKey));
    const got = await c.untilReady(T, 'the cancel');
    assert.equal(errorOf(got)?.C, '57014');
    await c.terminate(T);
  });
});
