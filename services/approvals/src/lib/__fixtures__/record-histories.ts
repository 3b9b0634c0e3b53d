/**
 * Records the workflow histories that workflows.replay.test.ts replays. Run it after an
 * intentional, compatible workflow change (add new histories; keep the old ones, they prove
 * that runs started by older code still replay), against the Temporal that tests use
 * ($CHAPERONE_CONFIG, else the local stack's), with a local Slack stand-in:
 *
 *   cd services/approvals && node --conditions=development --import tsx src/lib/__fixtures__/record-histories.ts
 *
 * It writes approval-v2-*.history.json (runs since the approval-v2 patch) and ping; the
 * approval-{approved,denied,expired,self-approval-refused} histories were recorded before the
 * patch and must stay as they are.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { createLogger } from '@chaperone/observability';
import { buttonClick, denyReasonSubmission, sendInteraction, startSlackStandIn } from '../../testing.js';
import { createApprovalsClient } from '../client.js';
import { PING_WORKFLOW } from '@chaperone/approvals-contract';
import { startApprovalsWorker } from '../worker.js';
import { temporalTestConfig } from './config.js';
import { historyToFixture } from './history.js';
import { approvalRequest } from './requests.js';

const SECRET = 'record-secret';
const slack = await startSlackStandIn({ botToken: 'xoxb-record' });
const base = temporalTestConfig(`approvals-record-${randomUUID()}`);
const config = {
  ...base,
  approvals: {
    ...base.approvals,
    approvers: [
      { subject: 'user:alice', groups: ['dba'], slackUserId: 'U0ALICE' },
      { subject: 'user:bob', groups: ['dba'], slackUserId: 'U0BOB' },
      { subject: 'user:carol', groups: ['security'], slackUserId: 'U0CAROL' },
      { subject: 'agent:ci-cleanup', groups: ['dba'], slackUserId: 'U0AGENT' },
    ],
    slack: { botToken: 'xoxb-record', signingSecret: SECRET, channel: 'C0APPROVALS', apiUrl: slack.url, interactivity: { host: '127.0.0.1', port: 0 } },
  },
};
const log = createLogger({ name: 'record-histories', level: 'warn' });
const worker = await startApprovalsWorker(config, log);
const client = await createApprovalsClient(config.temporal);
const endpoint = `http://127.0.0.1:${worker.interactivity!.port}`;
const posted = (id: string) => slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.args.blocks ?? '').includes(id));
const click = (user: string, id: string, action: 'approve' | 'deny' = 'approve') => sendInteraction(endpoint, SECRET, buttonClick({ slackUserId: user, approvalId: id, action }));
try {
  const recorded: Record<string, string> = {};

  const approved = await client.start(approvalRequest({ reasons: ['DELETE on orders without a WHERE clause needs approval (policy: unbounded-write)'] }));
  await posted(approved.workflowId);
  await click('U0ALICE', approved.workflowId);
  recorded['approval-v2-approved-slack'] = approved.workflowId;

  const denied = await client.start(approvalRequest());
  await posted(denied.workflowId);
  await click('U0BOB', denied.workflowId, 'deny');
  await slack.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(denied.workflowId));
  await sendInteraction(endpoint, SECRET, denyReasonSubmission({ slackUserId: 'U0BOB', approvalId: denied.workflowId, reason: 'use a WHERE clause' }));
  recorded['approval-v2-denied-reason'] = denied.workflowId;

  const quorum = await client.start(approvalRequest({ quorum: 2 }));
  await posted(quorum.workflowId);
  await click('U0AGENT', quorum.workflowId);
  await slack.waitFor('chat.postEphemeral', (c) => c.args.user === 'U0AGENT');
  await click('U0ALICE', quorum.workflowId);
  await slack.waitFor('chat.postEphemeral', (c) => c.args.user === 'U0ALICE');
  await client.approve(quorum.workflowId, { approver: 'user:bob', groups: ['dba'], via: 'cli' });
  recorded['approval-v2-quorum-self-refused'] = quorum.workflowId;

  const escalated = await client.start(approvalRequest({ ttlMs: 3000, escalation: { afterMs: 1000, groups: ['security'] } }));
  recorded['approval-v2-escalated-expired'] = escalated.workflowId;

  for (const id of Object.values(recorded)) await client.result(id);
  // Started directly (not through client.ping) to know its workflow id.
  const connection = await Connection.connect({ address: config.temporal.address });
  const raw = new Client({ connection, namespace: config.temporal.namespace });
  recorded.ping = `ping-${randomUUID()}`;
  await raw.workflow.execute(PING_WORKFLOW, { taskQueue: config.temporal.taskQueue, workflowId: recorded.ping, args: [{ message: 'recorded' }] });

  for (const [name, workflowId] of Object.entries(recorded)) {
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const file = new URL(`./${name}.history.json`, import.meta.url);
    writeFileSync(file, historyToFixture(history));
    process.stderr.write(`recorded ${workflowId} -> ${file.pathname}\n`);
  }
  await connection.close();
} finally {
  await client.close();
  await worker.stop();
  await slack.close();
}
