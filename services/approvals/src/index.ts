/**
 * @module @chaperone/approvals
 * Just-in-time approval of blocked commands on Temporal: the worker (`chaperone
 * approvals-worker`) that runs the approval and ping workflows, and the client the gateway,
 * API and CLI use to start, answer, query and await approvals.
 */
export { startApprovalsWorker, resolveWorkflowsPath } from './lib/worker.js';
export type { ApprovalsWorkerHandle, StartApprovalsWorkerOptions } from './lib/worker.js';
export { createApprovalsClient, validateApprovalRequest } from './lib/client.js';
export type { ApprovalsClient, ApprovalsClientOptions } from './lib/client.js';
export { createActivities } from './lib/activities.js';
export type { Activities, ActivityDeps } from './lib/activities.js';
export { approvalWorkflowId, approveSignal, denySignal, statusQuery, APPROVAL_WORKFLOW, PING_WORKFLOW } from './lib/definitions.js';
export { ApprovalNotFoundError, InvalidApprovalRequestError, TemporalUnavailableError, WorkflowsNotFoundError } from './lib/errors.js';
export type {
  ApprovalDecision,
  ApprovalOutcome,
  ApprovalRequest,
  ApprovalResult,
  ApprovalStatus,
  PingInput,
  PingResult,
} from './lib/types.js';
