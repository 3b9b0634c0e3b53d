/**
 * Records the workflow histories that workflows.replay.test.ts replays. Run it after an
 * intentional, compatible workflow change (add new histories; keep the old ones, they prove
 * that runs started by older code still replay), against the Temporal that tests use
 * ($CHAPERONE_CONFIG, else the local stack's):
 *
 *   cd services/approvals && node --conditions=development --import tsx src/lib/__fixtures__/record-histories.ts
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { createLogger } from '@chaperone/observability';
import { createApprovalsClient } from '../client.js';
import { PING_WORKFLOW } from '../definitions.js';
import { startApprovalsWorker } from '../worker.js';
import { temporalTestConfig } from './config.js';
import { historyToFixture } from './history.js';
import { approvalRequest } from './requests.js';

const config = temporalTestConfig(`approvals-record-${randomUUID()}`);
const log = createLogger({ name: 'record-histories', level: 'warn' });
const worker = await startApprovalsWorker(config, log);
const client = await createApprovalsClient(config.temporal);
try {
  const recorded: Record<string, string> = {};

  const approved = await client.start(approvalRequest());
  await client.approve(approved.workflowId, { approver: 'user:alice', reason: 'cleanup ticket OPS-42' });
  recorded['approval-approved'] = approved.workflowId;

  const denied = await client.start(approvalRequest());
  await client.deny(denied.workflowId, { approver: 'user:bob', reason: 'not during business hours' });
  recorded['approval-denied'] = denied.workflowId;

  const selfApproved = await client.start(approvalRequest());
  await client.approve(selfApproved.workflowId, { approver: 'agent:ci-cleanup' });
  // Wait until a workflow task has handled the refused signal, so the history has it on its own.
  while ((await client.status(selfApproved.workflowId)).refused.length === 0) await new Promise((r) => setTimeout(r, 100));
  await client.approve(selfApproved.workflowId, { approver: 'user:alice' });
  recorded['approval-self-approval-refused'] = selfApproved.workflowId;

  const expired = await client.start(approvalRequest({ ttlMs: 1000 }));
  recorded['approval-expired'] = expired.workflowId;

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
}
