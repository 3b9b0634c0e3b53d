import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalRequest } from './__fixtures__/requests.js';
import { applyAnswer, escalate, expire, MAX_REFUSED, newState, requestProblem, statusOf } from './workflows/rules.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const dba = (approver: string) => ({ approver, groups: ['dba'], via: 'slack' as const, slackUserId: `U${approver.length}` });

describe('approval rules', () => {
  it('one approver of an allowed group approves; the approval is reusable for validForMs', () => {
    const s = newState(approvalRequest({ validForMs: 60_000 }), T0);
    const e = applyAnswer(s, 'approve', dba('user:alice'), T0 + 5);
    assert.equal(e.effect, 'decided');
    assert.equal(s.result?.outcome, 'APPROVED');
    assert.equal(s.result?.validUntil, new Date(T0 + 5 + 60_000).toISOString());
    assert.deepEqual(s.result?.answers?.map((a) => [a.approver, a.via]), [['user:alice', 'slack']]);
  });

  it('refuses self-approval even from a member of an allowed group, and outsiders', () => {
    const r = approvalRequest();
    const s = newState(r, T0);
    assert.deepEqual(applyAnswer(s, 'approve', dba(r.subject), T0), { effect: 'refused', why: 'self-approval is not allowed' });
    assert.deepEqual(applyAnswer(s, 'approve', { approver: 'user:eve', groups: ['dev'] }, T0), { effect: 'refused', why: 'not in an approver group (dba)' });
    assert.deepEqual(applyAnswer(s, 'approve', { approver: 'user:eve' }, T0), { effect: 'refused', why: 'not in an approver group (dba)' });
    assert.equal(applyAnswer(s, 'deny', { approver: 'user:eve', groups: ['dev'] }, T0).effect, 'refused');
    assert.equal(applyAnswer(s, 'approve', { approver: '' }, T0).effect, 'refused');
    assert.equal(s.result, undefined);
    assert.equal(s.refused.length, 5);
  });

  it('counts distinct approvers up to the quorum', () => {
    const s = newState(approvalRequest({ quorum: 2 }), T0);
    assert.deepEqual(applyAnswer(s, 'approve', dba('user:alice'), T0), { effect: 'counted', counted: 1, quorum: 2 });
    assert.equal(applyAnswer(s, 'approve', dba('user:alice'), T0).effect, 'ignored');
    assert.equal(applyAnswer(s, 'approve', dba('user:bob'), T0).effect, 'decided');
    assert.deepEqual(s.result?.answers?.map((a) => a.approver), ['user:alice', 'user:bob']);
  });

  it('one denial decides, also by the requester withdrawing; nothing flips a decision', () => {
    const r = approvalRequest({ quorum: 2 });
    const s = newState(r, T0);
    applyAnswer(s, 'approve', dba('user:alice'), T0);
    assert.equal(applyAnswer(s, 'deny', { approver: r.subject, reason: 'wrong table' }, T0).effect, 'decided');
    assert.deepEqual([s.result?.outcome, s.result?.approver, s.result?.reason, s.result?.validUntil], ['DENIED', r.subject, 'wrong table', undefined]);
    assert.deepEqual(applyAnswer(s, 'approve', dba('user:bob'), T0), { effect: 'ignored', why: 'already denied' });
    assert.equal(expire(s, T0 + 1).outcome, 'DENIED');
  });

  it('escalation lets the second group answer', () => {
    const s = newState(approvalRequest({ escalation: { afterMs: 10, groups: ['security'] } }), T0);
    const carol = { approver: 'user:carol', groups: ['security'] };
    assert.equal(applyAnswer(s, 'approve', carol, T0).effect, 'refused');
    assert.deepEqual(escalate(s), ['security']);
    assert.deepEqual(statusOf(s).allowedGroups, ['dba', 'security']);
    assert.equal(applyAnswer(s, 'approve', carol, T0).effect, 'decided');
  });

  it('expires with the approvals counted so far, and keeps the refusal log bounded', () => {
    const s = newState(approvalRequest({ quorum: 3 }), T0);
    applyAnswer(s, 'approve', dba('user:alice'), T0);
    for (let i = 0; i < MAX_REFUSED + 5; i++) applyAnswer(s, 'approve', { approver: `user:x${i}` }, T0);
    assert.equal(s.refused.length, MAX_REFUSED);
    assert.equal(s.refused.at(-1)?.approver, `user:x${MAX_REFUSED + 4}`);
    const r = expire(s, T0 + 100);
    assert.deepEqual([r.outcome, r.answers?.length], ['EXPIRED', 1]);
    assert.equal(statusOf(s).state, 'EXPIRED');
  });

  it('clips long reasons and validates requests', () => {
    const s = newState(approvalRequest(), T0);
    applyAnswer(s, 'deny', { ...dba('user:bob'), reason: 'x'.repeat(5000) }, T0);
    assert.equal(s.result?.reason?.length, 1000);
    assert.equal(requestProblem(approvalRequest()), undefined);
    assert.match(requestProblem(approvalRequest({ ttlMs: 0 }))!, /ttlMs/);
    assert.match(requestProblem(approvalRequest({ quorum: 0 }))!, /quorum/);
  });
});
