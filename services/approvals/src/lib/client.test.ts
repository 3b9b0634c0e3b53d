import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalRequest } from './__fixtures__/requests.js';
import { validateApprovalRequest } from './client.js';
import { InvalidApprovalRequestError } from './errors.js';
import type { ApprovalRequest } from '@chaperone/approvals-contract';

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

  it('refuses a bad quorum or escalation', () => {
    assert.throws(() => validateApprovalRequest(approvalRequest({ quorum: 0 })), /quorum must be an integer >= 1/);
    assert.throws(() => validateApprovalRequest(approvalRequest({ escalation: { afterMs: 0, groups: ['x'] } })), /escalation needs/);
  });
});
