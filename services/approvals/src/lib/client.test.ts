import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalRequest } from './__fixtures__/requests.js';
import { validateApprovalRequest } from './client.js';
import { approvalBinding } from './binding.js';
import { approvalWorkflowId } from './definitions.js';
import { InvalidApprovalRequestError } from './errors.js';
import type { ApprovalRequest } from './types.js';

describe('validateApprovalRequest', () => {
  it('accepts a well-formed request', () => {
    validateApprovalRequest(approvalRequest());
    validateApprovalRequest(approvalRequest({ commandText: '', commandSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }));
  });

  const bad: [string, Partial<ApprovalRequest>, RegExp][] = [
    ['empty session id', { sessionId: '' }, /sessionId must be a non-empty string/],
    ['hash of other text', { commandSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }, /not the SHA-256 of commandText/],
    ['uppercase hash', { commandSha256: 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' }, /64 lowercase hex/],
    ['zero ttl', { ttlMs: 0 }, /ttlMs must be a positive integer/],
    ['fractional ttl', { ttlMs: 1.5 }, /ttlMs must be a positive integer/],
    ['groups not strings', { approverGroups: [1] as unknown as string[] }, /approverGroups must be an array of strings/],
  ];
  for (const [name, overrides, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => validateApprovalRequest(approvalRequest(overrides)), (err: Error) => {
        assert.ok(err instanceof InvalidApprovalRequestError);
        assert.equal(err.code, 'INVALID_APPROVAL_REQUEST');
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('names the workflow after the binding of command text, subject and connection', () => {
    const b = approvalBinding('agent:a', 'prod', 'DELETE FROM t');
    // The shared test vector: services/gateway/src/lib/approvals/gate.test.ts checks the same value.
    assert.equal(b, '3637f52e4b5d1a57443386d8cc926da5e9d33e0aa2056520b392f8f2129bce8a');
    assert.equal(approvalWorkflowId(b), `approval-${b}`);
    assert.equal(approvalBinding('agent:a', 'prod', 'DELETE FROM t'), b);
    // Every part counts, and no choice of separators makes two triples collide.
    for (const other of [approvalBinding('agent:b', 'prod', 'DELETE FROM t'), approvalBinding('agent:a', 'dev', 'DELETE FROM t'), approvalBinding('agent:a', 'prod', 'DELETE FROM t '), approvalBinding('agent:a", "prod', '', 'DELETE FROM t')])
      assert.notEqual(other, b);
  });

  it('refuses a bad quorum or escalation', () => {
    assert.throws(() => validateApprovalRequest(approvalRequest({ quorum: 0 })), /quorum must be an integer >= 1/);
    assert.throws(() => validateApprovalRequest(approvalRequest({ escalation: { afterMs: 0, groups: ['x'] } })), /escalation needs/);
  });
});
