/**
 * The first approval workflow, kept verbatim for runs that started before the `approval-v2`
 * patch (workflows.ts picks it when replaying their histories, see
 * __fixtures__/approval-*.history.json). Do not change it; delete it with the patch once no
 * such run can exist (they live at most their ttlMs).
 */
import { condition, log, setHandler } from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/workflow';
import { approveSignal, denySignal, statusQuery } from '../definitions.js';
import type { ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus } from '@chaperone/approvals-contract';

const MAX_REFUSED = 20;

/**
 * Holds one blocked command until an approver answers or the TTL runs out. The first valid
 * answer wins; later signals are ignored, so a double click in Slack cannot flip a decision.
 */
export async function approvalV1(request: ApprovalRequest): Promise<ApprovalResult> {
  if (!(request.ttlMs > 0))
    throw ApplicationFailure.nonRetryable(`ttlMs must be a positive number, got ${request.ttlMs}`, 'INVALID_APPROVAL_REQUEST');
  const requestedAt = Date.now();
  let result: ApprovalResult | undefined;
  let decidedAt: number | undefined;
  const refused: ApprovalStatus['refused'] = [];

  const decide = (outcome: 'APPROVED' | 'DENIED', d: ApprovalDecision) => {
    if (result) {
      log.info('approval already decided; ignoring signal', { outcome, approver: d.approver });
      return;
    }
    result = { outcome, approver: d.approver, ...(d.reason !== undefined ? { reason: d.reason } : {}) };
    decidedAt = Date.now();
  };

  setHandler(approveSignal, (d) => {
    if (d.approver === request.subject) {
      refused.push({ approver: d.approver, why: 'self-approval is not allowed' });
      if (refused.length > MAX_REFUSED) refused.shift();
      log.warn('refused self-approval', { approver: d.approver });
      return;
    }
    decide('APPROVED', d);
  });
  setHandler(denySignal, (d) => decide('DENIED', d));
  setHandler(statusQuery, () => ({
    state: result?.outcome ?? 'PENDING',
    request,
    requestedAt: new Date(requestedAt).toISOString(),
    expiresAt: new Date(requestedAt + request.ttlMs).toISOString(),
    ...(decidedAt !== undefined ? { decidedAt: new Date(decidedAt).toISOString() } : {}),
    ...(result?.approver !== undefined ? { approver: result.approver } : {}),
    ...(result?.reason !== undefined ? { reason: result.reason } : {}),
    refused: [...refused],
  }));

  const answered = await condition(() => result !== undefined, request.ttlMs);
  if (!answered) {
    result = { outcome: 'EXPIRED' };
    decidedAt = Date.now();
  }
  return result!;
}
