/**
 * A deliberately incompatible change to approvalWorkflow (it now runs an activity before
 * waiting): replaying a history recorded with the real workflow against this must fail, which
 * proves the replay tests would catch such a change.
 */
import { condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities.js';
import type { ApprovalRequest, ApprovalResult } from '@chaperone/approvals-contract';

const { ping } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds' });

export async function approvalWorkflow(request: ApprovalRequest): Promise<ApprovalResult> {
  await ping({ message: request.approvalId });
  await condition(() => false, request.ttlMs);
  return { outcome: 'EXPIRED' };
}
