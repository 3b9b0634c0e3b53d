/**
 * @module @chaperone/approvals
 * Just-in-time approval of blocked commands on Temporal: the worker (`chaperone
 * approvals-worker`) that runs the approval workflows — Slack prompt, approve/deny answers,
 * quorum, escalation, TTL — with the Slack interactivity endpoint, and the client the API and
 * CLI use to list, answer and inspect approvals. The gateway starts approvals with its own
 * client (services/gateway/src/lib/approvals) on the same contract: workflow type, id
 * (approvalWorkflowId of approvalBinding), signals, memo.
 */
export { startApprovalsWorker, resolveWorkflowsPath } from './lib/worker.js';
export type { ApprovalsWorkerHandle, StartApprovalsWorkerOptions } from './lib/worker.js';
export { createApprovalsClient, validateApprovalRequest } from './lib/client.js';
export type { ApprovalsClient, ApprovalsClientOptions, ApprovalSummary } from './lib/client.js';
export { createActivities } from './lib/activities.js';
export type { Activities, ActivityDeps } from './lib/activities.js';
export { approveSignal, denySignal, statusQuery } from './lib/definitions.js';
export { SlackNotifier } from './lib/slack/notifier.js';
export { createInteractivityHandler, startInteractivityServer, INTERACTIVITY_PATH } from './lib/slack/interactivity.js';
export type { InteractivityDeps, InteractivityResult, InteractivityServer } from './lib/slack/interactivity.js';
export { verifySlackSignature, slackSignature, ReplayGuard, SLACK_TIMESTAMP_WINDOW_S } from './lib/slack/signature.js';
export {
  ApprovalNotFoundError,
  InvalidApprovalRequestError,
  SlackRequestRejectedError,
  TemporalUnavailableError,
  WorkflowsNotFoundError,
} from './lib/errors.js';
export type { SlackRequestProblem } from './lib/errors.js';
// The wire types the client's methods take and return (defined in the contract).
export type { ApprovalDecision, ApprovalOutcome, ApprovalRequest, ApprovalResult, ApprovalStatus, PingResult } from '@chaperone/approvals-contract';
