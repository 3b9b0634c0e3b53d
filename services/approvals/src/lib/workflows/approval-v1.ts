/**
 * Workflow code. It runs inside Temporal's deterministic sandbox and is replayed from history,
 * so it must not import Node built-ins or anything with side effects, must not read real
 * clocks or randomness (Date.now() here is workflow time), and every change to the order of
 * commands it issues must keep recorded histories replaying (see workflows.replay.test.ts).
 */
import { ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from './activities.js';
import { approveSignal, denySignal, statusQuery } from './definitions.js';
import type { ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus, PingInput, PingResult } from './types.js';

const MAX_REFUSED = 20;

const { ping } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Proves the worker → activity path: one activity round trip. */
export async function pingWorkflow(input: PingInput): Promise<PingResult> {
  return await ping(input);
}

/**
 * Holds one blocked command until an approver answers or the TTL runs out. The first valid
 * answer wins; later signals are ignored, so a double click in Slack cannot flip a decision.
 */
export async function approvalWorkflow(request: ApprovalRequest): Promise<ApprovalResult> {
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
    // No self-approval (DESIGN "Approvals are bound"): the agent's own identity cannot unblock it.
    if (d.approver === request.subject) {
      refused.push({ approver: d.approver, why: 'self-approval is not allowed' });
      if (refused.length > MAX_REFUSED) refused.shift();
      log.warn('refused self-approval', { approver: d.approver });
      return;
    }
    decide('APPROVED', d);
  });
  // Denying needs no such check: withdrawing one's own command is always safe.
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
