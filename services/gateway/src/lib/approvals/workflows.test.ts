import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createLogger } from '@chaperone/observability';
import type { ApprovalUse } from '@chaperone/approvals-contract';
import { TemporalApprovalWorkflows } from './workflows.js';
import { stackConfig } from '../testing/stack-config.js';

// The real Temporal dev server of the local stack; fresh ids and a task queue no worker polls
// (a use marker counts from its start: no worker needs to run it).
describe('TemporalApprovalWorkflows against the real Temporal server', { timeout: 60_000 }, () => {
  const config = stackConfig();
  const workflows = new TemporalApprovalWorkflows({ ...config.temporal, taskQueue: `gateway-test-${randomUUID()}` }, createLogger({ name: 'workflows-test', level: 'silent' }));
  after(() => workflows.close());
  const signal = new AbortController().signal;

  it('lets exactly one use of an approved run win, across callers, and keeps who used it', async () => {
    const approvalId = `approval-test-${randomUUID()}`;
    const use = (sessionId: string, nodeId: string, runId = 'run-a'): ApprovalUse => ({ approvalId, runId, sessionId, commandId: '3', nodeId, at: new Date().toISOString() });
    const first = use('s-1', 'gw-1');
    const claims = await Promise.all([workflows.consume(first, signal), workflows.consume(use('s-2', 'gw-2'), signal)]);
    const won = claims.filter((c) => c.won).length;
    assert.equal(won, 1, 'two nodes at once: one wins');
    const later = await workflows.consume(use('s-3', 'gw-1'), signal);
    assert.equal(later.won, false);
    assert.ok(!later.won && ['s-1', 's-2'].includes(later.usedBy!.sessionId), 'the marker says who used it');
    const winner = !later.won ? later.usedBy! : first;
    // A start retried after its answer was lost finds its own use: still won.
    assert.deepEqual(await workflows.consume({ ...winner, at: new Date().toISOString() }, signal), { won: true });
    // A new approved run of the same binding is a new use.
    assert.deepEqual(await workflows.consume(use('s-4', 'gw-2', 'run-b'), signal), { won: true });
    assert.deepEqual(await workflows.latest(approvalId, signal), { state: 'NONE' });
  });
});
