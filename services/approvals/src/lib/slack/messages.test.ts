import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalRequest } from '../__fixtures__/requests.js';
import type { ApprovalStatus } from '@chaperone/approvals-contract';
import { APPROVE_ACTION, DENY_ACTION, denyModal, escapeMrkdwn, promptMessage, updatedMessage } from './messages.js';

const ID = `approval-${'a'.repeat(64)}`;

describe('Slack messages', () => {
  it('the prompt shows who, where, the exact command and why, with Approve and Deny carrying the approval id', () => {
    const r = approvalRequest({ commandText: 'DELETE FROM orders /* <b>&``` */', reasons: ['unbounded write (policy: unbounded-write)'], quorum: 2 });
    const m = promptMessage(ID, r, '2030-01-01T00:00:00.000Z');
    const text = JSON.stringify(m.blocks);
    assert.ok(text.includes(r.subject) && text.includes(r.connection) && text.includes('policy: unbounded-write') && text.includes('2 needed'));
    assert.ok(text.includes('&lt;b&gt;&amp;'), 'mrkdwn is escaped');
    const command = (m.blocks[2] as { text: { text: string } }).text.text;
    assert.equal(command.match(/```/g)?.length, 2, 'a ``` in the command cannot end the code block early');
    const actions = m.blocks.at(-1) as { elements: { action_id: string; value: string }[] };
    assert.deepEqual(actions.elements.map((e) => [e.action_id, e.value]), [[APPROVE_ACTION, ID], [DENY_ACTION, ID]]);
  });

  it('keeps within Block Kit limits for a huge command', () => {
    const m = promptMessage(ID, approvalRequest({ commandText: `SELECT '${'x'.repeat(10_000)}'` }));
    for (const b of m.blocks as { text?: { text: string } }[]) assert.ok((b.text?.text.length ?? 0) <= 3000);
  });

  it('an updated prompt loses its buttons once decided and keeps them while a quorum is incomplete', () => {
    const status: ApprovalStatus = { state: 'APPROVED', request: approvalRequest(), requestedAt: '', expiresAt: '', refused: [], answers: [{ approver: 'user:alice', slackUserId: 'U1', via: 'slack', at: '' }] };
    const done = JSON.stringify(updatedMessage(ID, status).blocks);
    assert.ok(done.includes('Approved') && done.includes('<@U1>') && !done.includes(APPROVE_ACTION));
    const partial = JSON.stringify(updatedMessage(ID, { ...status, state: 'PENDING', quorum: 2 }).blocks);
    assert.ok(partial.includes('1 of 2') && partial.includes(APPROVE_ACTION));
  });

  it('the deny dialog asks for a reason and carries the approval id', () => {
    const v = denyModal(ID, undefined) as { private_metadata: string; title: { text: string } };
    assert.equal(v.private_metadata, ID);
    assert.ok(v.title.text.length <= 24);
    assert.equal(escapeMrkdwn('a<b>&c'), 'a&lt;b&gt;&amp;c');
  });
});
