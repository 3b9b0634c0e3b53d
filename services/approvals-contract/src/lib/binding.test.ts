import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalBinding } from './binding.js';
import { approvalUseWorkflowId, approvalWorkflowId, memoOf } from './workflow.js';

describe('approval binding', () => {
  it('names the workflow after the binding of command text, subject and connection', () => {
    const b = approvalBinding('agent:a', 'prod', 'DELETE FROM t');
    // A fixed vector: a change here invalidates every approval granted before it.
    assert.equal(b, '3637f52e4b5d1a57443386d8cc926da5e9d33e0aa2056520b392f8f2129bce8a');
    assert.equal(approvalWorkflowId(b), `approval-${b}`);
    assert.equal(approvalWorkflowId('ab'), 'approval-ab');
    // One marker per approved run: a new run of the same binding can be used once again.
    assert.equal(approvalUseWorkflowId('approval-ab', 'run-1'), 'approval-ab-used-run-1');
    assert.notEqual(approvalUseWorkflowId('approval-ab', 'run-2'), approvalUseWorkflowId('approval-ab', 'run-1'));
    assert.equal(approvalBinding('agent:a', 'prod', 'DELETE FROM t'), b);
    // Every part counts, and no choice of separators makes two triples collide.
    for (const other of [approvalBinding('agent:b', 'prod', 'DELETE FROM t'), approvalBinding('agent:a', 'dev', 'DELETE FROM t'), approvalBinding('agent:a', 'prod', 'DELETE FROM t '), approvalBinding('agent:a", "prod', '', 'DELETE FROM t')])
      assert.notEqual(other, b);
  });

  it('clips the command in the memo to 200 characters', () => {
    assert.deepEqual(memoOf({ subject: 's', connection: 'c', commandText: 'x' }), { subject: 's', connection: 'c', command: 'x' });
    const long = memoOf({ subject: 's', connection: 'c', commandText: 'y'.repeat(300) }).command;
    assert.equal(long.length, 200);
    assert.ok(long.endsWith('…'));
  });
});
