import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import { blocksText, buttonClick, denyReasonSubmission, sendInteraction, startSlackStandIn, type SlackStandIn } from '../../testing.js';
import { temporalTestConfig } from '../__fixtures__/config.js';
import { approvalRequest } from '../__fixtures__/requests.js';
import { createApprovalsClient, type ApprovalsClient } from '../client.js';
import { startApprovalsWorker, type ApprovalsWorkerHandle } from '../worker.js';

// The Slack side end to end against the real Temporal server (as worker.test.ts) and a local
// stand-in of the Slack Web API driven by the real @slack/web-api client; clicks are signed
// exactly as Slack signs them.

const log = createLogger({ name: 'approvals-slack-test', level: 'warn' });
const SECRET = 'test-signing-secret';
const U = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL', mallory: 'U0MALLORY', agent: 'U0AGENT', stranger: 'U0STRANGER' };

describe('approvals through Slack', () => {
  let slack: SlackStandIn;
  let worker: ApprovalsWorkerHandle;
  let client: ApprovalsClient;
  let endpoint: string;

  before(async () => {
    slack = await startSlackStandIn({ botToken: 'xoxb-test' });
    const base = temporalTestConfig(`approvals-slack-${randomUUID()}`);
    const config: Config = {
      ...base,
      approvals: {
        ...base.approvals,
        approvers: [
          { subject: 'user:alice', groups: ['dba'], slackUserId: U.alice },
          { subject: 'user:bob', groups: ['dba'], slackUserId: U.bob },
          { subject: 'user:carol', groups: ['security'], slackUserId: U.carol },
          { subject: 'user:mallory', groups: ['developers'], slackUserId: U.mallory },
          // The requester's own Slack user: it must not be able to approve its command.
          { subject: 'agent:ci-cleanup', groups: ['dba'], slackUserId: U.agent },
        ],
        slack: { botToken: 'xoxb-test', signingSecret: SECRET, channel: 'C0APPROVALS', apiUrl: slack.url, interactivity: { host: '127.0.0.1', port: 0 } },
      },
    };
    worker = await startApprovalsWorker(config, log);
    client = await createApprovalsClient(config.temporal);
    assert.ok(worker.interactivity);
    endpoint = `http://127.0.0.1:${worker.interactivity.port}`;
  });

  after(async () => {
    await client?.close();
    await worker?.stop();
    await slack?.close();
  });

  const prompt = (workflowId: string) => slack.waitFor('chat.postMessage', (c) => blocksText(c.args).includes(workflowId) && c.args.thread_ts === undefined);
  const click = (user: string, approvalId: string, action: 'approve' | 'deny' = 'approve', opts = {}) =>
    sendInteraction(endpoint, SECRET, buttonClick({ slackUserId: user, approvalId, action }), opts);
  const toldTo = (user: string, re: RegExp) => slack.waitFor('chat.postEphemeral', (c) => c.args.user === user && re.test(String(c.args.text)));

  it('posts the prompt; a signed Approve click from an approver approves and the prompt shows it', async () => {
    const request = approvalRequest({ reasons: ['DELETE on orders without a WHERE clause needs approval (policy: unbounded-write)'] });
    const { workflowId } = await client.start(request);
    const posted = await prompt(workflowId);
    assert.equal(posted.args.channel, 'C0APPROVALS');
    const text = blocksText(posted.args);
    for (const part of [request.subject, request.connection, 'DELETE FROM orders', 'policy: unbounded-write', 'chaperone_approve', 'chaperone_deny']) assert.ok(text.includes(part), `prompt lacks ${part}`);

    assert.equal((await click(U.alice, workflowId)).status, 200);
    const r = await client.result(workflowId);
    assert.equal(r.outcome, 'APPROVED');
    assert.deepEqual(r.answers?.map((a) => [a.approver, a.slackUserId, a.via]), [['user:alice', U.alice, 'slack']]);
    const update = await slack.waitFor('chat.update', (c) => blocksText(c.args).includes(workflowId) && blocksText(c.args).includes('Approved'));
    assert.equal(update.args.ts, (await client.status(workflowId)).slack?.ts);
    assert.ok(!blocksText(update.args).includes('chaperone_approve'), 'the buttons are gone once decided');
  });

  it('rejects a bad signature, an old timestamp and a replay before anything reaches the workflow', async () => {
    const { workflowId } = await client.start(approvalRequest());
    await prompt(workflowId);
    assert.equal((await click(U.alice, workflowId, 'approve', { signature: `v0=${'0'.repeat(64)}` })).status, 401);
    assert.equal((await click(U.alice, workflowId, 'approve', { timestamp: Math.floor(Date.now() / 1000) - 301 })).status, 401);
    const bare = await fetch(`${endpoint}/slack/interactivity`, { method: 'POST', body: 'payload=%7B%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(bare.status, 401);
    assert.equal((await client.status(workflowId)).state, 'PENDING');

    // The same signed request twice: the second is a replay.
    const ts = Math.floor(Date.now() / 1000);
    const payload = buttonClick({ slackUserId: U.mallory, approvalId: workflowId, action: 'approve', triggerId: 'fixed' });
    assert.equal((await sendInteraction(endpoint, SECRET, payload, { timestamp: ts })).status, 200);
    assert.equal((await sendInteraction(endpoint, SECRET, payload, { timestamp: ts })).status, 401);
    await client.deny(workflowId, { approver: 'user:bob', groups: ['dba'] });
  });

  it('refuses the requester, a non-approver and an unmapped Slack user, telling each why; the command stays held', async () => {
    const request = approvalRequest();
    const { workflowId } = await client.start(request);
    await prompt(workflowId);
    assert.equal((await click(U.agent, workflowId)).status, 200);
    await toldTo(U.agent, /self-approval is not allowed/);
    assert.equal((await click(U.mallory, workflowId)).status, 200);
    await toldTo(U.mallory, /not in an approver group/);
    assert.equal((await click(U.stranger, workflowId)).status, 200);
    await toldTo(U.stranger, /not mapped to an approver identity/);
    const status = await client.status(workflowId);
    assert.equal(status.state, 'PENDING');
    assert.deepEqual(status.refused.map((r) => r.approver), [request.subject, 'user:mallory']);
    await click(U.bob, workflowId);
    assert.equal((await client.result(workflowId)).approver, 'user:bob');
  });

  it('Deny opens a dialog for the reason; submitting it denies with that reason', async () => {
    const { workflowId } = await client.start(approvalRequest());
    await prompt(workflowId);
    assert.equal((await click(U.bob, workflowId, 'deny')).status, 200);
    const modal = await slack.waitFor('views.open', (c) => (c.args.view as { private_metadata?: string }).private_metadata === workflowId);
    assert.ok(modal.args.trigger_id);
    assert.equal((await client.status(workflowId)).state, 'PENDING', 'the click alone does not deny');
    const submitted = await sendInteraction(endpoint, SECRET, denyReasonSubmission({ slackUserId: U.bob, approvalId: workflowId, reason: 'use a WHERE clause' }));
    assert.equal(submitted.status, 200);
    assert.equal(submitted.body, '', 'an empty 200 closes the modal');
    const r = await client.result(workflowId);
    assert.deepEqual([r.outcome, r.approver, r.reason], ['DENIED', 'user:bob', 'use a WHERE clause']);
    await slack.waitFor('chat.update', (c) => blocksText(c.args).includes(workflowId) && blocksText(c.args).includes('use a WHERE clause'));
    // A late submission is told the approval is gone.
    const late = await sendInteraction(endpoint, SECRET, denyReasonSubmission({ slackUserId: U.alice, approvalId: workflowId, reason: 'late' }));
    assert.match(late.body, /no longer pending/);
  });

  it('a quorum of two needs two distinct approvers', async () => {
    const { workflowId } = await client.start(approvalRequest({ quorum: 2 }));
    await prompt(workflowId);
    await click(U.alice, workflowId);
    await toldTo(U.alice, /counted: 1 of 2/);
    await sendInteraction(endpoint, SECRET, buttonClick({ slackUserId: U.alice, approvalId: workflowId, action: 'approve' }));
    await toldTo(U.alice, /already approved/);
    assert.equal((await client.status(workflowId)).state, 'PENDING');
    await click(U.bob, workflowId);
    const r = await client.result(workflowId);
    assert.deepEqual(r.answers?.map((a) => a.approver), ['user:alice', 'user:bob']);
  });

  it('escalates to the second group after the delay; before it that group is refused', async () => {
    const { workflowId } = await client.start(approvalRequest({ escalation: { afterMs: 1500, groups: ['security'] } }));
    await prompt(workflowId);
    await click(U.carol, workflowId);
    await toldTo(U.carol, /not in an approver group \(dba\)/);
    const reply = await slack.waitFor('chat.postMessage', (c) => c.args.thread_ts !== undefined && String(c.args.text).includes(workflowId));
    assert.match(String(reply.args.text), /escalated to security/);
    assert.equal((await client.status(workflowId)).escalated, true);
    await click(U.carol, workflowId);
    assert.equal((await client.result(workflowId)).approver, 'user:carol');
  });

  it('expires after its TTL and says so on the prompt', async () => {
    const { workflowId } = await client.start(approvalRequest({ ttlMs: 1500 }));
    await prompt(workflowId);
    assert.equal((await client.result(workflowId)).outcome, 'EXPIRED');
    await slack.waitFor('chat.update', (c) => blocksText(c.args).includes(workflowId) && blocksText(c.args).includes('Expired'));
  });

  it('keeps working through the CLI when Slack cannot be reached', async () => {
    slack.failing('chat.postMessage', 'service_unavailable');
    try {
      const { workflowId } = await client.start(approvalRequest());
      await client.approve(workflowId, { approver: 'user:alice', groups: ['dba'], via: 'cli' });
      assert.equal((await client.result(workflowId)).outcome, 'APPROVED');
      assert.equal((await client.status(workflowId)).slack, undefined);
    } finally {
      slack.failing('chat.postMessage', undefined);
    }
  });
});
