import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import type { PolicyDecision } from '../policy/index.js';
import { approvalBinding, approvalWorkflowId, type ApprovalRequest, type ApprovalResult, type ApprovalUse } from '@chaperone/approvals-contract';
import { ApprovalUnavailableError } from './errors.js';
import { TemporalApprovalGate, type HoldRequest, type HoldTicket } from './gate.js';
import { mergeRequirements } from './requirement.js';
import type { ApprovalWorkflows, LatestRun } from './workflows.js';

const log = createLogger({ name: 'gate-test', level: 'silent' });
const approvals: Config['approvals'] = { timeoutMs: 60_000, httpHoldMs: 25_000, escalation: { afterMs: 10_000, groups: ['leads'] }, approvers: [], slack: undefined };
const held: HoldRequest = {
  sessionId: 's-1',
  commandId: 4,
  subject: 'agent:a',
  connection: 'prod',
  commandText: 'DELETE FROM orders',
  requirement: { approverGroups: ['dba'], quorum: 1, ttlMs: 900_000 },
  reasons: ['DELETE on orders without a WHERE clause needs approval (policy: unbounded-write)'],
};

/** A scripted Temporal: records starts, answers `latest` and `result` as told; the first use of a run wins. */
function fakeWorkflows(latest: LatestRun, result: () => Promise<ApprovalResult>) {
  const started: ApprovalRequest[] = [];
  const uses = new Map<string, ApprovalUse>();
  const wf: ApprovalWorkflows = {
    consume: (use) => {
      const first = uses.get(use.runId);
      if (first) return Promise.resolve({ won: false, usedBy: first });
      uses.set(use.runId, use);
      return Promise.resolve({ won: true });
    },
    latest: () => Promise.resolve(latest),
    start: (_id, request) => (started.push(request), Promise.resolve({ runId: 'run-1' })),
    result: (_id, _run, signal) =>
      new Promise((resolve, reject) => {
        if (signal.aborted) reject(new Error('aborted'));
        signal.addEventListener('abort', () => reject(new Error('aborted')));
        result().then(resolve, reject);
      }),
    close: () => Promise.resolve(),
  };
  return { wf, started, uses };
}

const never = () => new Promise<ApprovalResult>(() => undefined);

describe('TemporalApprovalGate', () => {
  it('starts a new approval with the policy requirement, the configured timeout and escalation', async () => {
    const { wf, started } = fakeWorkflows({ state: 'NONE' }, () => Promise.resolve({ outcome: 'APPROVED', answers: [{ approver: 'user:alice', slackUserId: 'U1', via: 'slack', at: '' }] }));
    const tickets: HoldTicket[] = [];
    const out = await new TemporalApprovalGate(wf, approvals, log).hold(held, { onTicket: (t) => void tickets.push(t) });
    assert.deepEqual(out, { outcome: 'APPROVED', approvalId: approvalWorkflowId(approvalBinding('agent:a', 'prod', 'DELETE FROM orders')), approvers: ['user:alice (slack:U1)'], reason: '' });
    const r = started[0]!;
    assert.equal(r.ttlMs, 60_000, 'approvals.timeout bounds the wait');
    assert.equal(r.validForMs, 900_000, "the policy's TTL bounds reuse");
    assert.deepEqual(r.escalation, { afterMs: 10_000, groups: ['leads'] });
    assert.equal(r.commandId, '4');
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]!.reused, false);
  });

  it('joins a running approval instead of starting another', async () => {
    const { wf, started } = fakeWorkflows({ state: 'RUNNING', runId: 'r0' }, () => Promise.resolve({ outcome: 'DENIED', approver: 'user:bob', reason: 'no' }));
    const out = await new TemporalApprovalGate(wf, approvals, log).hold(held);
    assert.deepEqual([out.outcome, out.reason, out.approvers], ['DENIED', 'no', ['user:bob (api)']]);
    assert.equal(started.length, 0);
  });

  it('reuses an approval granted earlier while it is valid, and asks again after', async () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const granted: ApprovalResult = { outcome: 'APPROVED', answers: [{ approver: 'user:alice', via: 'cli', at: '' }], validUntil: new Date(now + 1000).toISOString() };
    const a = fakeWorkflows({ state: 'CLOSED', runId: 'r0', result: granted }, never);
    const reused = await new TemporalApprovalGate(a.wf, approvals, log, () => now).hold(held);
    assert.equal(reused.outcome, 'REUSED');
    assert.deepEqual(reused.approvers, ['user:alice (cli)']);
    assert.equal(a.started.length, 0);

    const b = fakeWorkflows({ state: 'CLOSED', runId: 'r0', result: granted }, () => Promise.resolve({ outcome: 'EXPIRED' }));
    const again = await new TemporalApprovalGate(b.wf, approvals, log, () => now + 1001).hold(held);
    assert.equal(again.outcome, 'EXPIRED');
    assert.equal(b.started.length, 1);
    // A closed denial is never reused either.
    const c = fakeWorkflows({ state: 'CLOSED', runId: 'r0', result: { outcome: 'DENIED' } }, () => Promise.resolve({ outcome: 'APPROVED' }));
    assert.equal((await new TemporalApprovalGate(c.wf, approvals, log).hold(held)).outcome, 'APPROVED');
    assert.equal(c.started.length, 1);
  });

  it('releases a single-use approval once: the first call uses it, the next is refused (USED) and asks again', async () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const granted: ApprovalResult = { outcome: 'APPROVED', answers: [{ approver: 'user:alice', via: 'cli', at: '' }], validUntil: new Date(now + 60_000).toISOString() };
    const once: HoldRequest = { ...held, singleUse: true, nodeId: 'gw-1' };
    const { wf, started, uses } = fakeWorkflows({ state: 'CLOSED', runId: 'r0', result: granted }, never);
    const gate = new TemporalApprovalGate(wf, approvals, log, () => now);
    const first = await gate.hold(once);
    assert.equal(first.outcome, 'REUSED');
    assert.deepEqual(uses.get('r0'), { approvalId: first.approvalId, runId: 'r0', sessionId: 's-1', commandId: '4', nodeId: 'gw-1', at: '2030-01-01T00:00:00.000Z' });
    assert.equal(started.length, 0);

    const tickets: HoldTicket[] = [];
    const second = await gate.hold({ ...once, sessionId: 's-2', nodeId: 'gw-2' }, { onTicket: (t) => void tickets.push(t) });
    assert.deepEqual(second, { outcome: 'USED', approvalId: first.approvalId, approvers: ['user:alice (cli)'], reason: 'already used by session s-1 (command 4) on gw-1 at 2030-01-01T00:00:00.000Z' });
    assert.equal(started.length, 1, 'a new approval of the same binding is requested');
    assert.equal(started[0]!.singleUse, true);
    assert.deepEqual(tickets.map((t) => t.reused), [false]);

    // Not single use (PostgreSQL, other HTTP kinds): reused while valid, nothing consumed.
    const reusable = fakeWorkflows({ state: 'CLOSED', runId: 'r0', result: granted }, never);
    const g = new TemporalApprovalGate(reusable.wf, approvals, log, () => now);
    assert.deepEqual([(await g.hold(held)).outcome, (await g.hold(held)).outcome], ['REUSED', 'REUSED']);
    assert.equal(reusable.uses.size, 0);
  });

  it('lets one of two calls waiting on the same single-use approval run', async () => {
    const { wf, started } = fakeWorkflows({ state: 'RUNNING', runId: 'r1' }, () => Promise.resolve({ outcome: 'APPROVED', answers: [{ approver: 'user:alice', via: 'cli', at: '' }], validUntil: '2099-01-01T00:00:00Z' }));
    const gate = new TemporalApprovalGate(wf, approvals, log);
    const outs = await Promise.all([gate.hold({ ...held, singleUse: true, sessionId: 'a' }), gate.hold({ ...held, singleUse: true, sessionId: 'b' })]);
    assert.deepEqual(outs.map((o) => o.outcome).sort(), ['APPROVED', 'USED']);
    assert.equal(started.length, 1, 'the loser asked again');
  });

  it('fails closed when Temporal is unreachable, and tells apart a bound reached and an abandoned session', async () => {
    const down: ApprovalWorkflows = { ...fakeWorkflows({ state: 'NONE' }, never).wf, latest: () => Promise.reject(new ApprovalUnavailableError('cannot reach Temporal at 127.0.0.1:1')) };
    const out = await new TemporalApprovalGate(down, approvals, log).hold(held);
    assert.deepEqual([out.outcome, out.reason], ['UNAVAILABLE', 'cannot reach Temporal at 127.0.0.1:1']);

    const slow = fakeWorkflows({ state: 'NONE' }, never);
    assert.equal((await new TemporalApprovalGate(slow.wf, approvals, log).hold(held, { maxWaitMs: 50 })).outcome, 'PENDING');

    const ac = new AbortController();
    const p = new TemporalApprovalGate(slow.wf, approvals, log).hold(held, { signal: ac.signal, onTicket: () => ac.abort() });
    assert.equal((await p).outcome, 'ABANDONED');
  });
});

describe('mergeRequirements', () => {
  const d = (groups: string[], quorum: number, ttlMs: number): PolicyDecision => ({ result: 'approval', reasons: [], revision: 'r', evalMicros: 1, output: {}, approval: { approverGroups: groups, quorum, ttlMs } });
  it('keeps the groups every statement names, the largest quorum and the shortest TTL', () => {
    assert.deepEqual(mergeRequirements([d(['dba', 'sre'], 1, 900), { ...d([], 1, 1), result: 'allow' }, d(['sre'], 2, 600)]), { approverGroups: ['sre'], quorum: 2, ttlMs: 600 });
    assert.equal(mergeRequirements([d(['dba'], 1, 900), d(['sre'], 1, 900)]), undefined);
    assert.equal(mergeRequirements([{ ...d([], 1, 1), approval: undefined }]), undefined);
  });
});
