/**
 * @module @chaperone/approvals-contract
 * The contract of just-in-time approvals, defined once for every side that starts, answers or
 * waits on one: the binding hash (security-critical: an approval is valid only for the command,
 * identity and connection it binds), workflow names and ids, the memo, and the JSON shapes that
 * cross the Temporal boundary. Imported by the gateway, the approvals worker and the API, so
 * the compiler — not a test — keeps them equal.
 */
export { approvalBinding } from './lib/binding.js';
export { APPROVAL_USE_WORKFLOW, APPROVAL_WORKFLOW, PING_WORKFLOW, approvalUseWorkflowId, approvalWorkflowId, memoOf, type ApprovalMemo } from './lib/workflow.js';
export type {
  AnswerChannel,
  ApprovalAnswer,
  ApprovalDecision,
  ApprovalOutcome,
  ApprovalRequest,
  ApprovalResult,
  ApprovalStatus,
  ApprovalSummary,
  ApprovalUse,
  PingInput,
  PingResult,
  SlackMessageRef,
} from './lib/types.js';
