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
  /** Groups whose members may answer (the policy names them). */
  approverGroups: string[];
  /** How long approvers have before the request expires. Must be > 0. */
  ttlMs: number;
  /** Distinct approvers needed. @default 1 */
  quorum?: number;
  /** How long an APPROVED answer may be reused for the same binding, from the decision. @default ttlMs */
  validForMs?: number;
  /** The policy's reasons for holding the command, shown to approvers. @default [] */
  reasons?: string[];
  /** After `afterMs` without an answer, these groups are asked too (from approvals.escalation). */
  escalation?: { afterMs: number; groups: string[] };
  /** The approval releases the command once (an MCP tool call), not every retry until validUntil. @default false */
  singleUse?: boolean;
}

/** The one use of a single-use approval: the argument (and memo) of its marker workflow (approvalUseWorkflowId). */
export interface ApprovalUse {
  approvalId: string;
  /** The approved run that was used. */
  runId: string;
  sessionId: string;
  commandId: string;
  /** The gateway node that forwarded the command. */
  nodeId: string;
  /** ISO-8601, the node's clock. */
  at: string;
}

/** How an answer reached the workflow. */
export type AnswerChannel = 'slack' | 'cli' | 'api';

/** One answer that counted towards the outcome. */
export interface ApprovalAnswer {
  approver: string;
  /** The Slack user who clicked, when the answer came from Slack. */
  slackUserId?: string;
  via: AnswerChannel;
  /** ISO-8601, workflow time. */
  at: string;
  reason?: string;
}

export type ApprovalOutcome = 'APPROVED' | 'DENIED' | 'EXPIRED';

/** What the workflow returns; the gateway forwards the command only on APPROVED. */
export interface ApprovalResult {
  outcome: ApprovalOutcome;
  /** Identity that answered last (the one that met the quorum, or denied); absent when the request expired. */
  approver?: string;
  reason?: string;
  /** The answers that decided: every counted approval, or the one denial. */
  answers?: ApprovalAnswer[];
  /** ISO-8601 (workflow time). */
  decidedAt?: string;
  /** APPROVED only: until when the same command by the same identity on the same connection may run again without asking. */
  validUntil?: string;
}

/** Payload of the `approve` and `deny` signals. */
export interface ApprovalDecision {
  /** Identity of the approver (a Slack user mapped to an identity, or a CLI/console user). */
  approver: string;
  reason?: string;
  /** The approver's groups, from approvals.approvers in the configuration; one must be a group the request names. */
  groups?: string[];
  /** The Slack user who clicked (recorded next to the identity). */
  slackUserId?: string;
  /** @default 'api' */
  via?: AnswerChannel;
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
  /** Answers that were refused (e.g. self-approval, not an approver), newest last, at most 20. */
  refused: { approver: string; why: string }[];
  /** Approvals counted so far (towards the quorum). */
  answers?: ApprovalAnswer[];
  quorum?: number;
  /** Groups whose members may answer now (the escalation groups join after the escalation delay). */
  allowedGroups?: string[];
  escalated?: boolean;
  /** Where the Slack prompt is, once posted. */
  slack?: SlackMessageRef;
  validUntil?: string;
}

/** One approval as a list shows it (the approvals client's list, the API's and the console's inbox). */
export interface ApprovalSummary {
  approvalId: string;
  state: 'PENDING' | ApprovalOutcome | 'FAILED';
  subject: string;
  connection: string;
  command: string;
  /** ISO-8601. */
  requestedAt: string;
  closedAt?: string;
  approver?: string;
  reason?: string;
}

/** A posted Slack message. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
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
