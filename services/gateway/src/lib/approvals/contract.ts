/**
 * The approval workflow's contract as the gateway uses it. The worker (services/approvals)
 * defines it; the gateway may not import that service (Nx boundaries: services depend on
 * libraries only), so the few names and shapes it needs are repeated here, JSON-compatible
 * with @chaperone/approvals' ApprovalRequest / ApprovalResult. The e2e test runs both.
 */

/** Workflow type name: the exported function in services/approvals/src/lib/workflows.ts. */
export const APPROVAL_WORKFLOW = 'approvalWorkflow';

export interface WireApprovalRequest {
  approvalId: string;
  sessionId: string;
  commandId: string;
  subject: string;
  connection: string;
  commandText: string;
  commandSha256: string;
  approverGroups: string[];
  ttlMs: number;
  quorum: number;
  validForMs: number;
  reasons: string[];
  escalation?: { afterMs: number; groups: string[] };
}

export interface WireApprovalAnswer {
  approver: string;
  slackUserId?: string;
  via: string;
  at: string;
  reason?: string;
}

export interface WireApprovalResult {
  outcome: 'APPROVED' | 'DENIED' | 'EXPIRED';
  approver?: string;
  reason?: string;
  answers?: WireApprovalAnswer[];
  decidedAt?: string;
  validUntil?: string;
}

/** Memo set at start so listings (chaperone approvals ls) need no worker. */
export interface WireApprovalMemo {
  subject: string;
  connection: string;
  command: string;
}
