/**
 * Workflow code, bundled by the worker (resolveWorkflowsPath). It runs inside Temporal's
 * deterministic sandbox and is replayed from history, so it must not import Node built-ins or
 * anything with side effects, must not read real clocks or randomness (Date.now() there is
 * workflow time), and every change to the order of commands it issues must keep recorded
 * histories replaying (workflows.replay.test.ts) — guard such changes with patched().
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from './activities.js';
import type { ApprovalRequest, ApprovalResult, ApprovalUse, PingInput, PingResult } from '@chaperone/approvals-contract';
import { approvalV1 } from './workflows/approval-v1.js';
import { approvalV2 } from './workflows/approval.js';

export { promptOutcomeWorkflow } from './workflows/approval.js';

/** Marks runs of the Slack/quorum/escalation workflow; runs started before it replay approvalV1. */
export const APPROVAL_V2_PATCH = 'approval-v2';

const { ping } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Proves the worker → activity path: one activity round trip. */
export async function pingWorkflow(input: PingInput): Promise<PingResult> {
  return await ping(input);
}

/** Holds one blocked command until approvers answer or the TTL runs out (see workflows/approval.ts). */
export async function approvalWorkflow(request: ApprovalRequest): Promise<ApprovalResult> {
  return patched(APPROVAL_V2_PATCH) ? await approvalV2(request) : await approvalV1(request);
}

/**
 * The marker of the one use of a single-use approval (approvalUseWorkflowId in the contract).
 * What matters is that it was started: Temporal admits one workflow per id, so the gateway node
 * whose start succeeds forwards the command and every other start fails. It only hands its
 * argument back, so listings and `chaperone approvals show` can say who used the approval.
 */
export async function approvalUseWorkflow(use: ApprovalUse): Promise<ApprovalUse> {
  return await Promise.resolve(use);
}
