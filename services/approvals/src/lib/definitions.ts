import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalStatus } from './types.js';

// Shared by workflows.ts (handlers) and client.ts (senders) so the names cannot drift apart.
// The names are part of recorded histories: renaming one breaks replay of running workflows.

/** Workflow type names: the exported function names in workflows.ts. */
export const APPROVAL_WORKFLOW = 'approvalWorkflow';
export const PING_WORKFLOW = 'pingWorkflow';

export const approveSignal = defineSignal<[ApprovalDecision]>('approve');
export const denySignal = defineSignal<[ApprovalDecision]>('deny');
export const statusQuery = defineQuery<ApprovalStatus>('status');

/**
 * The workflow id of the approval for one binding (see binding.ts): at most one approval runs
 * per command text + identity + connection, so a retry from another session or gateway node
 * finds the running one instead of asking again.
 */
export function approvalWorkflowId(bindingSha256: string): string {
  return `approval-${bindingSha256}`;
}

/** Memo keys set when an approval starts, so listings need no worker (gateway and client both set them). */
export interface ApprovalMemo {
  subject: string;
  connection: string;
  /** The command, clipped to 200 characters. */
  command: string;
}
