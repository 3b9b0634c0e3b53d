import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createLogger } from '@chaperone/observability';
import { historyFromFixture } from './__fixtures__/history.js';
import { useRuntimeLogger } from './runtime.js';
import { resolveWorkflowsPath } from './worker.js';

// Replays histories recorded from real runs (src/lib/__fixtures__/*.history.json, written by
// record-histories.ts) against today's workflow code. A failure here means a workflow change
// would break approvals that are waiting right now: guard it with workflow.patched() instead.
// Needs no Temporal server.

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const histories = readdirSync(fixtures)
  .filter((f) => f.endsWith('.history.json'))
  .sort()
  .map((f) => ({ name: f, history: historyFromFixture(readFileSync(fixtures + f, 'utf8')) }));

useRuntimeLogger(createLogger({ name: 'approvals-replay-test', level: 'warn' }));

describe('recorded workflow histories', () => {
  it('has fixtures for every workflow and outcome', () => {
    const names = histories.map((h) => h.name);
    const v1 = ['approval-approved', 'approval-denied', 'approval-expired', 'approval-self-approval-refused'];
    const v2 = ['approval-v2-approved-slack', 'approval-v2-denied-reason', 'approval-v2-quorum-self-refused', 'approval-v2-escalated-expired'];
    for (const n of [...v1, ...v2, 'ping'])
      assert.ok(names.includes(`${n}.history.json`), `missing fixture ${n}.history.json`);
  });

  it('replay deterministically against the current workflows', async () => {
    const results = Worker.runReplayHistories(
      { workflowsPath: resolveWorkflowsPath(), replayName: 'approvals-fixtures' },
      // The recorded id: workflow code may derive ids from it (the prompt-outcome child's).
      histories.map((h) => ({ workflowId: h.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowId || h.name, history: h.history })),
    );
    let n = 0;
    for await (const r of results) {
      assert.equal(r.error, undefined, `${r.workflowId} (${histories.find((h) => h.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowId === r.workflowId)?.name ?? r.workflowId}): ${r.error?.message}`);
      n++;
    }
    assert.equal(n, histories.length);
  });

  it('catch an incompatible workflow change', async () => {
    const approved = histories.find((h) => h.name === 'approval-approved.history.json');
    assert.ok(approved);
    const reordered = fileURLToPath(new URL('./__fixtures__/workflows/reordered.ts', import.meta.url));
    await assert.rejects(
      Worker.runReplayHistory({ workflowsPath: reordered, replayName: 'approvals-reordered' }, approved.history),
      (err: Error) => err.name === 'DeterminismViolationError',
    );
  });
});
