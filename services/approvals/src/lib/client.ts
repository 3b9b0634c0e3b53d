import { createHash, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import type { Config } from '@chaperone/config';
import { APPROVAL_WORKFLOW, approvalBinding, approvalWorkflowId, memoOf, PING_WORKFLOW, type ApprovalMemo } from '@chaperone/approvals-contract';
import { approveSignal, denySignal, statusQuery } from './definitions.js';
import { ApprovalNotFoundError, InvalidApprovalRequestError, temporalUnavailable } from './errors.js';
import type { approvalWorkflow, pingWorkflow } from './workflows.js';
import type { ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus, ApprovalSummary, PingResult } from '@chaperone/approvals-contract';

/** One approval in a listing: the contract's (@chaperone/approvals-contract), which the API and console show. */
export type { ApprovalSummary };

export interface ApprovalsClientOptions {
  /** How long to wait for the first connection to Temporal. @default 10000 */
  connectTimeoutMs?: number;
}


/** What the API, the CLI and tests need from the approval workflows (the gateway has its own start-or-reuse client). */
export interface ApprovalsClient {
  /** Starts the approval for the request's binding; while one runs for that binding, returns the running one. */
  start(request: ApprovalRequest): Promise<{ workflowId: string; runId: string }>;
  approve(workflowId: string, decision: ApprovalDecision): Promise<void>;
  deny(workflowId: string, decision: ApprovalDecision): Promise<void>;
  /** Where the approval stands (also answers for decided and expired ones while Temporal keeps them). */
  status(workflowId: string): Promise<ApprovalStatus>;
  /** Waits for the outcome. */
  result(workflowId: string): Promise<ApprovalResult>;
  /** Pending approvals (and, with `all`, decided ones), newest first. */
  list(opts?: { all?: boolean; limit?: number }): Promise<ApprovalSummary[]>;
  /** Resolves an approval id given as a unique prefix (at least 8 characters after `approval-`). */
  resolveId(idOrPrefix: string): Promise<string>;
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
  if (r.quorum !== undefined && (!Number.isSafeInteger(r.quorum) || r.quorum < 1)) problems.push('quorum must be an integer >= 1');
  if (r.validForMs !== undefined && (!Number.isSafeInteger(r.validForMs) || r.validForMs < 0)) problems.push('validForMs must be an integer >= 0');
  if (r.escalation !== undefined && (!Number.isSafeInteger(r.escalation.afterMs) || r.escalation.afterMs <= 0 || !Array.isArray(r.escalation.groups)))
    problems.push('escalation needs a positive integer afterMs and groups');
  if (problems.length) throw new InvalidApprovalRequestError(`invalid approval request: ${problems.join('; ')}`);
}

function notFound(workflowId: string, err: unknown): unknown {
  return err instanceof WorkflowNotFoundError
    ? new ApprovalNotFoundError(`no pending approval ${workflowId}: it was never started, or it was already decided or expired (see \`chaperone approvals ls --all\`)`, { cause: err })
    : err;
}

const LIST_QUERY = `WorkflowType = '${APPROVAL_WORKFLOW}'`;

/**
 * Connects to Temporal (config.temporal) and returns the approvals client; rejects with
 * TemporalUnavailableError. Longer than a screen on purpose: its body is the client object, one
 * short method per operation sharing the connection, each read on its own.
 */
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

  const summarize = async (w: WorkflowExecutionInfo): Promise<ApprovalSummary> => {
    const memo = (w.memo ?? {}) as Partial<ApprovalMemo>;
    const base = {
      approvalId: w.workflowId,
      subject: memo.subject ?? '?',
      connection: memo.connection ?? '?',
      command: memo.command ?? '?',
      requestedAt: w.startTime.toISOString(),
      ...(w.closeTime ? { closedAt: w.closeTime.toISOString() } : {}),
    };
    if (w.status.name === 'RUNNING') return { ...base, state: 'PENDING' };
    if (w.status.name !== 'COMPLETED') return { ...base, state: 'FAILED', reason: w.status.name.toLowerCase() };
    // A closed run's result comes from its history: no worker needed.
    const r = await client.workflow.getHandle<typeof approvalWorkflow>(w.workflowId, w.runId).result();
    return { ...base, state: r.outcome, ...(r.approver ? { approver: r.approver } : {}), ...(r.reason ? { reason: r.reason } : {}) };
  };

  return {
    async start(request) {
      validateApprovalRequest(request);
      const h = await client.workflow.start<typeof approvalWorkflow>(APPROVAL_WORKFLOW, {
        taskQueue,
        workflowId: approvalWorkflowId(approvalBinding(request.subject, request.connection, request.commandText)),
        args: [request],
        memo: { ...memoOf(request) },
        // A second request for the same command joins the running approval instead of prompting again;
        // once it is closed the id may start a new one.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      return { workflowId: h.workflowId, runId: h.firstExecutionRunId };
    },
    approve: (workflowId, decision) => guard(workflowId, () => handle(workflowId).signal(approveSignal, decision)),
    deny: (workflowId, decision) => guard(workflowId, () => handle(workflowId).signal(denySignal, decision)),
    status: (workflowId) => guard(workflowId, () => handle(workflowId).query(statusQuery)),
    result: (workflowId) => guard(workflowId, () => handle(workflowId).result()),
    async list({ all = false, limit = 50 } = {}) {
      const query = all ? LIST_QUERY : `${LIST_QUERY} AND ExecutionStatus = 'Running'`;
      const infos: WorkflowExecutionInfo[] = [];
      for await (const w of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
        infos.push(w);
        if (infos.length >= limit) break;
      }
      const rows = await Promise.all(infos.map(summarize));
      return rows.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
    },
    async resolveId(id) {
      if (/^approval-[0-9a-f]{64}$/.test(id)) return id;
      const prefix = id.startsWith('approval-') ? id : `approval-${id}`;
      if (!/^approval-[0-9a-f]{8,63}$/.test(prefix))
        throw new ApprovalNotFoundError(`"${id}" is not an approval id: give approval-<64 hex> or a unique prefix of at least 8 hex characters (see \`chaperone approvals ls\`)`);
      const matches = new Set<string>();
      // Running ones first: a prefix names the approval someone is waiting on.
      for await (const w of client.workflow.list({ query: `${LIST_QUERY} AND WorkflowId STARTS_WITH '${prefix}'`, pageSize: 10 })) {
        matches.add(w.workflowId);
        if (matches.size > 1) break;
      }
      if (matches.size === 1) return [...matches][0]!;
      if (matches.size === 0) throw new ApprovalNotFoundError(`no approval with id ${prefix}… (see \`chaperone approvals ls --all\`)`);
      throw new ApprovalNotFoundError(`${prefix}… matches several approvals; give more of the id`);
    },
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
