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

/** The workflow id of the approval for one command: at most one runs per command. */
export function approvalWorkflowId(sessionId: string, commandId: string): string {
  return `approval-${sessionId}-${commandId}`;
}
