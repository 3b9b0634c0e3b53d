import type { ApprovalRequest } from './types.js';

// The names below are part of recorded workflow histories: renaming one breaks replay of
// running workflows.

/** Workflow type names: the exported function names in services/approvals/src/lib/workflows.ts. */
export const APPROVAL_WORKFLOW = 'approvalWorkflow';
export const PING_WORKFLOW = 'pingWorkflow';
/** Marks the one use of a single-use approval (see approvalUseWorkflowId). */
export const APPROVAL_USE_WORKFLOW = 'approvalUseWorkflow';

/**
 * The workflow id of the approval for one binding (see binding.ts): at most one approval runs
 * per command text + identity + connection, so a retry from another session or gateway node
 * finds the running one (or the approved one, while it is valid) instead of asking again.
 */
export function approvalWorkflowId(bindingSha256: string): string {
  return `approval-${bindingSha256}`;
}

/**
 * The id of the marker that records the one use of an approved run (single-use approvals, e.g.
 * MCP tool calls). Temporal admits at most one workflow per id — running or closed, with the
 * `REJECT_DUPLICATE` reuse policy — so the first gateway node to start this marker owns the
 * approval and every other node, at once and durably, sees it used. Keyed by the approved run:
 * a new approval of the same binding (a new run of approvalWorkflowId) is a new marker.
 */
export function approvalUseWorkflowId(approvalId: string, runId: string): string {
  return `${approvalId}-used-${runId}`;
}

/** Memo keys set when an approval starts, so listings (`chaperone approvals ls`) need no worker. */
export interface ApprovalMemo {
  subject: string;
  connection: string;
  /** The command, clipped to 200 characters. */
  command: string;
}

/** The memo of a request (the gateway and the approvals client both start approvals). */
export function memoOf(r: Pick<ApprovalRequest, 'subject' | 'connection' | 'commandText'>): ApprovalMemo {
  return { subject: r.subject, connection: r.connection, command: r.commandText.length > 200 ? `${r.commandText.slice(0, 199)}…` : r.commandText };
}
