export { TemporalApprovalGate, approverLabels, type ApprovalGate, type HoldOptions, type HoldOutcome, type HoldRequest, type HoldTicket } from './gate.js';
export { TemporalApprovalWorkflows, type ApprovalWorkflows, type LatestRun, type UseClaim } from './workflows.js';
export { ApprovalUnavailableError } from './errors.js';
export { mergeRequirements } from './requirement.js';
export { approvalRefusal, approvedNotice, waitingNotice } from './messages.js';
export { approvalRequested, approvalResolved } from './events.js';
export { singleUseApproval } from './single-use.js';
