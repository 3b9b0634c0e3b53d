/**
 * The data that crosses the Temporal boundary (workflow arguments, signals, queries, results).
 * Plain JSON-serialisable shapes only: Temporal's default payload converter stores them in
 * workflow history, and the workflow sandbox imports this file, so it must stay free of Node.
 */

/** What the gateway asks an approver to allow: one command, bound to identity and connection. */
export interface ApprovalRequest {
  /** Stable id of this approval (also recorded in ApprovalRequested/ApprovalResolved events). */
  approvalId: string;
  sessionId: string;
  /** The command's id within its session (its sequence number, as a string). */
  commandId: string;
  /** The identity (JWT/OIDC subject) whose session issued the command. */
  subject: string;
  /** Name of the configured connection the command targets. */
  connection: string;
  /** The command as the agent sent it, shown to approvers. */
  commandText: string;
  /** Hex SHA-256 of commandText: an approval is bound to exactly this text. */
  commandSha256: string;
  /** Groups whose members may answer (enforced by the policy when approvers are wired in). */
  approverGroups: string[];
  /** How long approvers have before the request expires. Must be > 0. */
  ttlMs: number;
}

export type ApprovalOutcome = 'APPROVED' | 'DENIED' | 'EXPIRED';

/** What the workflow returns; the gateway forwards the command only on APPROVED. */
export interface ApprovalResult {
  outcome: ApprovalOutcome;
  /** Identity that answered; absent when the request expired. */
  approver?: string;
  reason?: string;
}

/** Payload of the `approve` and `deny` signals. */
export interface ApprovalDecision {
  /** Identity of the approver (a Slack user mapped to an identity, or a CLI/console user). */
  approver: string;
  reason?: string;
}

/** Answer of the `status` query: the request and where it stands. */
export interface ApprovalStatus {
  state: 'PENDING' | ApprovalOutcome;
  request: ApprovalRequest;
  /** ISO-8601 times, from workflow time (deterministic on replay). */
  requestedAt: string;
  expiresAt: string;
  decidedAt?: string;
  approver?: string;
  reason?: string;
  /** Approve signals that were refused (e.g. self-approval), newest last, at most 20. */
  refused: { approver: string; why: string }[];
}

export interface PingInput {
  message: string;
}

/** Proof that a worker picked up the activity: who answered and when. */
export interface PingResult {
  message: string;
  /** Node id of the worker process that ran the activity. */
  nodeId: string;
  /** ISO-8601 time at which the activity ran. */
  at: string;
}
