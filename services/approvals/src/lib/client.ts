import { createHash, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '@chaperone/config';
import { APPROVAL_WORKFLOW, approvalWorkflowId, approveSignal, denySignal, PING_WORKFLOW, statusQuery } from './definitions.js';
import { ApprovalNotFoundError, InvalidApprovalRequestError, temporalUnavailable } from './errors.js';
import type { approvalWorkflow, pingWorkflow } from './workflows.js';
import type { ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus, PingResult } from './types.js';

export interface ApprovalsClientOptions {
  /** How long to wait for the first connection to Temporal. @default 10000 */
  connectTimeoutMs?: number;
}

/** What the gateway, the API and the CLI need from the approval workflows. */
export interface ApprovalsClient {
  /** Starts the approval for one command; starting it again while it runs returns the running one. */
  start(request: ApprovalRequest): Promise<{ workflowId: string; runId: string }>;
  approve(workflowId: string, decision: ApprovalDecision): Promise<void>;
  deny(workflowId: string, decision: ApprovalDecision): Promise<void>;
  /** Where the approval stands (also answers for decided and expired ones while Temporal keeps them). */
  status(workflowId: string): Promise<ApprovalStatus>;
  /** Waits for the outcome. */
  result(workflowId: string): Promise<ApprovalResult>;
  /** Runs the ping workflow: proves a worker polls the task queue and runs activities. */
  ping(message?: string, opts?: { timeoutMs?: number }): Promise<PingResult>;
  close(): Promise<void>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Refuses requests the workflow could not honour, before anything reaches Temporal. */
export function validateApprovalRequest(r: ApprovalRequest): void {
  const problems: string[] = [];
  for (const key of ['approvalId', 'sessionId', 'commandId', 'subject', 'connection'] as const)
    if (typeof r[key] !== 'string' || r[key] === '') problems.push(`${key} must be a non-empty string`);
  if (typeof r.commandText !== 'string') problems.push('commandText must be a string');
  else if (!SHA256_HEX.test(r.commandSha256)) problems.push('commandSha256 must be 64 lowercase hex characters');
  // The approval is bound to the hash; a hash of some other text would approve the wrong command.
  else if (createHash('sha256').update(r.commandText, 'utf8').digest('hex') !== r.commandSha256)
    problems.push('commandSha256 is not the SHA-256 of commandText');
  if (!Array.isArray(r.approverGroups) || r.approverGroups.some((g) => typeof g !== 'string'))
    problems.push('approverGroups must be an array of strings');
  if (!Number.isSafeInteger(r.ttlMs) || r.ttlMs <= 0) problems.push('ttlMs must be a positive integer');
  if (problems.length) throw new InvalidApprovalRequestError(`invalid approval request: ${problems.join('; ')}`);
}

function notFound(workflowId: string, err: unknown): unknown {
  return err instanceof WorkflowNotFoundError
    ? new ApprovalNotFoundError(`no pending approval ${workflowId}: it was never started, or it was already decided or expired`, { cause: err })
    : err;
}

/** Connects to Temporal (config.temporal) and returns the approvals client; rejects with TemporalUnavailableError. */
export async function createApprovalsClient(temporal: Config['temporal'], opts: ApprovalsClientOptions = {}): Promise<ApprovalsClient> {
  const { address, namespace, taskQueue } = temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: opts.connectTimeoutMs ?? 10_000 });
  } catch (err) {
    throw temporalUnavailable(address, namespace, err);
  }
  const client = new Client({ connection, namespace });
  const handle = (workflowId: string) => client.workflow.getHandle<typeof approvalWorkflow>(workflowId);
  const guard = async <T>(workflowId: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw notFound(workflowId, err);
    }
  };

  return {
    async start(request) {
      validateApprovalRequest(request);
      const h = await client.workflow.start<typeof approvalWorkflow>(APPROVAL_WORKFLOW, {
        taskQueue,
        workflowId: approvalWorkflowId(request.sessionId, request.commandId),
        args: [request],
        // A gateway retrying after a lost reply must not open a second prompt for the same command.
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      return { workflowId: h.workflowId, runId: h.firstExecutionRunId };
    },
    approve: (workflowId, decision) => guard(workflowId, () => handle(workflowId).signal(approveSignal, decision)),
    deny: (workflowId, decision) => guard(workflowId, () => handle(workflowId).signal(denySignal, decision)),
    status: (workflowId) => guard(workflowId, () => handle(workflowId).query(statusQuery)),
    result: (workflowId) => guard(workflowId, () => handle(workflowId).result()),
    async ping(message = 'ping', pingOpts = {}) {
      return await client.workflow.execute<typeof pingWorkflow>(PING_WORKFLOW, {
        taskQueue,
        workflowId: `ping-${randomUUID()}`,
        args: [{ message }],
        // Without a worker the ping would wait forever; this turns that into a clear failure.
        workflowExecutionTimeout: pingOpts.timeoutMs ?? 30_000,
      });
    },
    close: () => connection.close(),
  };
}
