import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import { temporalTestConfig } from './__fixtures__/config.js';
import { approvalRequest } from './__fixtures__/requests.js';
import { createApprovalsClient, type ApprovalsClient } from './client.js';
import { APPROVAL_USE_WORKFLOW, approvalBinding, approvalUseWorkflowId, approvalWorkflowId, type ApprovalUse } from '@chaperone/approvals-contract';
import { ApprovalNotFoundError, InvalidApprovalRequestError, TemporalUnavailableError } from './errors.js';
import { resolveWorkflowsPath, startApprovalsWorker, type ApprovalsWorkerHandle } from './worker.js';

// Runs against the real Temporal dev server of the local stack (`deploy/local/up --infra-only`)
// or the one $CHAPERONE_CONFIG names. Each run uses its own task queue and fresh workflow ids.

const log = createLogger({ name: 'approvals-test', level: 'warn' });
const alice = { approver: 'user:alice', groups: ['dba'], via: 'cli' as const };
const bob = { approver: 'user:bob', groups: ['dba'], via: 'cli' as const };

/** Visibility (listings) is eventually consistent. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('approvals worker on a real Temporal server', () => {
  let config: Config;
  let worker: ApprovalsWorkerHandle;
  let client: ApprovalsClient;
  let raw: Client;
  let rawConnection: Connection;

  before(async () => {
    config = temporalTestConfig(`approvals-test-${randomUUID()}`);
    worker = await startApprovalsWorker(config, log);
    client = await createApprovalsClient(config.temporal);
    rawConnection = await Connection.connect({ address: config.temporal.address });
    raw = new Client({ connection: rawConnection, namespace: config.temporal.namespace });
  });

  after(async () => {
    await client?.close();
    await rawConnection?.close();
    await worker?.stop();
  });

  it('runs the ping workflow through the ping activity', async () => {
    const r = await client.ping('hello');
    assert.equal(r.message, 'hello');
    assert.equal(r.nodeId, 'approvals-test');
    assert.ok(Date.now() - Date.parse(r.at) < 60_000);
  });

  it('reports healthy and exports metrics while running', async () => {
    const health = await fetch(`http://127.0.0.1:${worker.ops.port}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, state: 'running', checks: { temporalWorker: { ok: true, detail: 'RUNNING' } } });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.ops.port}/metrics`)).text();
    assert.match(metrics, /chaperone_approvals_worker_state\{state="running"[^}]*\} 1/);
    assert.match(metrics, /chaperone_approvals_activity_runs_total\{activity="ping",outcome="ok"[^}]*\} [1-9]/);
  });

  it('approve → APPROVED, visible through the status query before and after', async () => {
    const request = approvalRequest();
    const { workflowId } = await client.start(request);
    assert.equal(workflowId, approvalWorkflowId(approvalBinding(request.subject, request.connection, request.commandText)));

    const pending = await client.status(workflowId);
    assert.equal(pending.state, 'PENDING');
    assert.deepEqual(pending.request, request);
    assert.equal(Date.parse(pending.expiresAt) - Date.parse(pending.requestedAt), request.ttlMs);

    await client.approve(workflowId, { ...alice, reason: 'ticket OPS-42' });
    const r = await client.result(workflowId);
    assert.equal(r.outcome, 'APPROVED');
    assert.equal(r.approver, 'user:alice');
    assert.equal(r.reason, 'ticket OPS-42');
    assert.deepEqual(r.answers?.map((a) => [a.approver, a.via]), [['user:alice', 'cli']]);
    assert.equal(Date.parse(r.validUntil!) - Date.parse(r.decidedAt!), request.ttlMs, 'reusable for the TTL by default');
    const decided = await client.status(workflowId);
    assert.equal(decided.state, 'APPROVED');
    assert.equal(decided.approver, 'user:alice');
    assert.ok(decided.decidedAt);
  });

  it('runs the use marker of a single-use approval, and Temporal admits one per approved run', async () => {
    const use: ApprovalUse = { approvalId: approvalWorkflowId(randomUUID()), runId: 'run-1', sessionId: 's-1', commandId: '7', nodeId: 'gw-1', at: new Date().toISOString() };
    const workflowId = approvalUseWorkflowId(use.approvalId, use.runId);
    const start = (u: ApprovalUse) => raw.workflow.start(APPROVAL_USE_WORKFLOW, { taskQueue: worker.taskQueue, workflowId, args: [u], memo: { ...u }, workflowIdConflictPolicy: 'FAIL', workflowIdReusePolicy: 'REJECT_DUPLICATE' });
    const h = await start(use);
    assert.deepEqual(await h.result(), use, 'the worker completes it with the use');
    await assert.rejects(start({ ...use, sessionId: 's-2' }), WorkflowExecutionAlreadyStartedError, 'closed, it still rejects a second use');
    assert.equal((await raw.workflow.getHandle(workflowId).describe()).memo?.sessionId, 's-1');
  });

  it('deny → DENIED', async () => {
    const { workflowId } = await client.start(approvalRequest());
    await client.deny(workflowId, { ...bob, reason: 'not now' });
    const r = await client.result(workflowId);
    assert.deepEqual([r.outcome, r.approver, r.reason, r.validUntil], ['DENIED', 'user:bob', 'not now', undefined]);
  });

  it('refuses self-approval and waits for someone else', async () => {
    const request = approvalRequest();
    const { workflowId } = await client.start(request);
    await client.approve(workflowId, { approver: request.subject, groups: ['dba'], via: 'cli' });
    let status = await client.status(workflowId);
    for (let i = 0; status.refused.length === 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await client.status(workflowId);
    }
    assert.equal(status.state, 'PENDING');
    assert.deepEqual(status.refused, [{ approver: request.subject, why: 'self-approval is not allowed' }]);
    await client.approve(workflowId, alice);
    assert.equal((await client.result(workflowId)).outcome, 'APPROVED');
  });

  it('expires after its TTL → EXPIRED', async () => {
    const { workflowId } = await client.start(approvalRequest({ ttlMs: 1000 }));
    const started = Date.now();
    assert.equal((await client.result(workflowId)).outcome, 'EXPIRED');
    assert.ok(Date.now() - started >= 900, 'expired too early');
  });

  it('starting the same command twice returns the running approval', async () => {
    const request = approvalRequest();
    const first = await client.start(request);
    const again = await client.start({ ...request, approvalId: randomUUID() });
    assert.deepEqual(again, first);
    await client.deny(first.workflowId, bob);
    assert.equal((await client.result(first.workflowId)).outcome, 'DENIED');
    // Closed: the same binding may ask again, as a new run of the same workflow id.
    const third = await client.start(request);
    assert.equal(third.workflowId, first.workflowId);
    assert.notEqual(third.runId, first.runId);
    await client.deny(third.workflowId, bob);
  });

  it('lists pending approvals with their memo and resolves an id prefix', async () => {
    const request = approvalRequest();
    const { workflowId } = await client.start(request);
    const pending = await eventually(async () => (await client.list()).find((a) => a.approvalId === workflowId));
    assert.deepEqual([pending.state, pending.subject, pending.connection, pending.command], ['PENDING', request.subject, request.connection, request.commandText]);
    assert.equal(await client.resolveId(workflowId.slice(0, 'approval-'.length + 16)), workflowId);
    assert.equal(await client.resolveId(workflowId.slice('approval-'.length, 'approval-'.length + 16)), workflowId);
    await assert.rejects(client.resolveId('approval-zz'), ApprovalNotFoundError);
    await client.deny(workflowId, bob);
    await client.result(workflowId);
    const all = await eventually(async () => (await client.list({ all: true, limit: 100 })).find((a) => a.approvalId === workflowId && a.state === 'DENIED'));
    assert.equal(all.approver, 'user:bob');
  });

  it('a worker stopped mid-wait loses no approval: another worker picks it up', async () => {
    const { workflowId } = await client.start(approvalRequest());
    assert.equal((await client.status(workflowId)).state, 'PENDING');
    const other = await startApprovalsWorker(config, log);
    await worker.stop();
    try {
      await client.approve(workflowId, alice);
      assert.equal((await client.result(workflowId)).outcome, 'APPROVED');
    } finally {
      worker = other;
    }
  });

  it('a decided approval takes no more answers', async () => {
    const { workflowId } = await client.start(approvalRequest());
    await client.approve(workflowId, alice);
    await client.result(workflowId);
    await assert.rejects(client.deny(workflowId, bob), ApprovalNotFoundError);
    assert.equal((await client.status(workflowId)).state, 'APPROVED');
  });

  it('answers for unknown approvals with ApprovalNotFoundError', async () => {
    await assert.rejects(client.approve(approvalWorkflowId('0'.repeat(64)), alice), ApprovalNotFoundError);
  });

  it('refuses an invalid request before it reaches Temporal', async () => {
    await assert.rejects(client.start(approvalRequest({ commandSha256: '0'.repeat(64) })), InvalidApprovalRequestError);
    await assert.rejects(client.start(approvalRequest({ ttlMs: 0 })), /ttlMs must be a positive integer/);
  });

  it('records a history that replays deterministically', async () => {
    const { workflowId } = await client.start(approvalRequest());
    await client.approve(workflowId, alice);
    await client.result(workflowId);
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    // Incompatible changes are caught in workflows.replay.test.ts; this proves a live history replays.
    await Worker.runReplayHistory({ workflowsPath: resolveWorkflowsPath(), replayName: 'approvals-live' }, history, workflowId);
  });

  it('refuses an unknown namespace with an actionable error', async () => {
    const namespace = `missing-${randomUUID()}`;
    await assert.rejects(startApprovalsWorker({ ...config, temporal: { ...config.temporal, namespace } }, log), (err: Error) => {
      assert.ok(err instanceof TemporalUnavailableError);
      assert.match(err.message, new RegExp(`has no namespace "${namespace}".*temporal operator namespace create`));
      return true;
    });
  });

  it('stops gracefully: draining, then stopped with the ops server closed', async () => {
    const states: string[] = [];
    worker.lifecycle.onChange((s) => states.push(s));
    await Promise.all([worker.stop(), worker.stop()]);
    await worker.done;
    assert.deepEqual(states, ['draining', 'stopped']);
    assert.equal(worker.state, 'stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${worker.ops.port}/healthz`));
  });
});

describe('approvals worker without Temporal', () => {
  const freePort = async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  };
  const unreachable = (opsPort = 0): Config => {
    const c = temporalTestConfig('unused');
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    return { ...c, temporal: { ...c.temporal, address: '127.0.0.1:1', http: { host: '127.0.0.1', port: opsPort } } };
  };

  it('fails to start with an actionable TemporalUnavailableError and releases its ops port', async () => {
    const port = await freePort();
    await assert.rejects(startApprovalsWorker(unreachable(port), log), (err: Error) => {
      assert.ok(err instanceof TemporalUnavailableError);
      assert.equal(err.code, 'TEMPORAL_UNAVAILABLE');
      assert.match(err.message, /cannot reach Temporal at 127\.0\.0\.1:1 .*deploy\/local\/up --infra-only/);
      return true;
    });
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => again.close(resolve));
  });

  it('the client fails the same way', async () => {
    await assert.rejects(createApprovalsClient(unreachable().temporal, { connectTimeoutMs: 500 }), TemporalUnavailableError);
  });
});
