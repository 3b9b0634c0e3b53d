import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { APPROVAL_WORKFLOW, type WireApprovalMemo, type WireApprovalRequest, type WireApprovalResult } from './contract.js';
import { ApprovalUnavailableError } from './errors.js';

/** Where the latest run for an approval id stands. */
export type LatestRun = { state: 'NONE' } | { state: 'RUNNING'; runId: string } | { state: 'CLOSED'; result: WireApprovalResult | undefined };

/** What the gate needs from Temporal (a port, so the gate's logic is tested without a server). */
export interface ApprovalWorkflows {
  latest(workflowId: string, signal: AbortSignal): Promise<LatestRun>;
  /** Starts a run, or joins the one running for this id. */
  start(workflowId: string, request: WireApprovalRequest, memo: WireApprovalMemo, signal: AbortSignal): Promise<{ runId: string }>;
  /** Waits for the run's result; rejects with an AbortError when `signal` fires. */
  result(workflowId: string, runId: string, signal: AbortSignal): Promise<WireApprovalResult>;
  close(): Promise<void>;
}

/**
 * The Temporal client, connected lazily: a gateway whose policy never asks for approval never
 * connects. A failed connection is not remembered, so the next held command tries again.
 */
export class TemporalApprovalWorkflows implements ApprovalWorkflows {
  private connecting: Promise<{ connection: Connection; client: Client }> | undefined;

  constructor(
    private readonly temporal: Config['temporal'],
    private readonly log: Logger,
    private readonly connectTimeoutMs = 5_000,
  ) {}

  private async client(): Promise<{ connection: Connection; client: Client }> {
    this.connecting ??= (async () => {
      const { address, namespace } = this.temporal;
      this.log.info({ address, namespace }, 'connecting to Temporal for approvals');
      const connection = await Connection.connect({ address, connectTimeout: this.connectTimeoutMs });
      return { connection, client: new Client({ connection, namespace }) };
    })();
    try {
      return await this.connecting;
    } catch (err) {
      this.connecting = undefined;
      throw new ApprovalUnavailableError(`cannot reach Temporal at ${this.temporal.address}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async call<T>(signal: AbortSignal, fn: (client: Client) => Promise<T>): Promise<T> {
    const { connection, client } = await this.client();
    return await connection.withAbortSignal(signal, () => fn(client));
  }

  async latest(workflowId: string, signal: AbortSignal): Promise<LatestRun> {
    return await this.call(signal, async (client) => {
      const handle = client.workflow.getHandle(workflowId);
      let d;
      try {
        d = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { state: 'NONE' as const };
        throw err;
      }
      if (d.status.name === 'RUNNING') return { state: 'RUNNING' as const, runId: d.runId };
      if (d.status.name !== 'COMPLETED') return { state: 'CLOSED' as const, result: undefined };
      // A closed run's result is read from its history: no worker involved.
      const result = await client.workflow.getHandle(workflowId, d.runId).result() as WireApprovalResult;
      return { state: 'CLOSED' as const, result };
    });
  }

  async start(workflowId: string, request: WireApprovalRequest, memo: WireApprovalMemo, signal: AbortSignal): Promise<{ runId: string }> {
    return await this.call(signal, async (client) => {
      const h = await client.workflow.start(APPROVAL_WORKFLOW, {
        taskQueue: this.temporal.taskQueue,
        workflowId,
        args: [request],
        memo: { ...memo },
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      return { runId: h.firstExecutionRunId };
    });
  }

  async result(workflowId: string, runId: string, signal: AbortSignal): Promise<WireApprovalResult> {
    return await this.call(signal, async (client) => {
      try {
        return (await client.workflow.getHandle(workflowId, runId).result()) as WireApprovalResult;
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new ApprovalUnavailableError(`approval ${workflowId} failed: ${err.cause?.message ?? err.message}`, { cause: err });
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    const c = this.connecting;
    this.connecting = undefined;
    if (c) await c.then((x) => x.connection.close()).catch(() => undefined);
  }
}
