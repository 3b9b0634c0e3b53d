import { Client, Connection, ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, isGrpcServiceError, isRetryableError, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { APPROVAL_USE_WORKFLOW, APPROVAL_WORKFLOW, approvalUseWorkflowId, type ApprovalMemo, type ApprovalRequest, type ApprovalResult, type ApprovalUse } from '@chaperone/approvals-contract';
import { ApprovalUnavailableError } from './errors.js';
import { errorMessage } from '@chaperone/observability';

/** Where the latest run for an approval id stands. */
export type LatestRun = { state: 'NONE' } | { state: 'RUNNING'; runId: string } | { state: 'CLOSED'; runId: string; result: ApprovalResult | undefined };

/** Whether this caller got the one use of an approved run (single-use approvals). */
export type UseClaim = { won: true } | { won: false; usedBy: ApprovalUse | undefined };

/** What the gate needs from Temporal (a port, so the gate's logic is tested without a server). */
export interface ApprovalWorkflows {
  latest(workflowId: string, signal: AbortSignal): Promise<LatestRun>;
  /** Starts a run, or joins the one running for this id. */
  start(workflowId: string, request: ApprovalRequest, memo: ApprovalMemo, signal: AbortSignal): Promise<{ runId: string }>;
  /** Waits for the run's result; rejects with an AbortError when `signal` fires. */
  result(workflowId: string, runId: string, signal: AbortSignal): Promise<ApprovalResult>;
  /** Claims the one use of the approved run `use.runId`: won by the first caller only, on any node, durably. */
  consume(use: ApprovalUse, signal: AbortSignal): Promise<UseClaim>;
  close(): Promise<void>;
}

/**
 * How the gateway's Temporal connection recovers from an outage. grpc-js backs reconnects off
 * exponentially up to 120 s and the SDK's default call retries wait up to 5 s apart, so a held
 * statement approved just after Temporal came back used to wait many seconds for the channel's
 * next attempt (gRPC connection backoff: initial 1 s, ×1.6). Capped at 1 s, reconnects against
 * one cluster endpoint stay cheap and an approval is seen within about a second.
 * @see https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md
 */
const RECONNECT = { initialMs: 100, maxMs: 1000 };
/**
 * Call retries (describe, start): 100 ms doubling to 1 s apart, for about 20 s in all (as long
 * as the SDK's default) before the held command is refused (fail closed).
 */
const CALL_RETRY = { attempts: 24, initialMs: 100, maxMs: 1000 };
/** Between long polls for a result while Temporal is unreachable: the wait itself is bounded by the gate. */
const RESULT_RETRY_MS = 250;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/** Temporal (or the path to it) is down or restarting: worth asking again. */
function transient(err: unknown): boolean {
  const grpc = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpc) && isRetryableError(grpc);
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
      const connection = await Connection.connect({
        address,
        connectTimeout: this.connectTimeoutMs,
        channelArgs: { 'grpc.initial_reconnect_backoff_ms': RECONNECT.initialMs, 'grpc.max_reconnect_backoff_ms': RECONNECT.maxMs },
        interceptors: [
          makeGrpcRetryInterceptor({
            delayFunction: (attempt) => Math.min(CALL_RETRY.maxMs, CALL_RETRY.initialMs * 2 ** attempt) * (0.8 + Math.random() * 0.4),
            retryableDecider: (attempt, status) => attempt < CALL_RETRY.attempts && isRetryableError(status),
          }),
        ],
      });
      return { connection, client: new Client({ connection, namespace }) };
    })();
    try {
      return await this.connecting;
    } catch (err) {
      this.connecting = undefined;
      throw new ApprovalUnavailableError(`cannot reach Temporal at ${this.temporal.address}: ${errorMessage(err)}`, { cause: err });
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
      if (d.status.name !== 'COMPLETED') return { state: 'CLOSED' as const, runId: d.runId, result: undefined };
      // A closed run's result is read from its history: no worker involved.
      const result = await client.workflow.getHandle(workflowId, d.runId).result() as ApprovalResult;
      return { state: 'CLOSED' as const, runId: d.runId, result };
    });
  }

  async start(workflowId: string, request: ApprovalRequest, memo: ApprovalMemo, signal: AbortSignal): Promise<{ runId: string }> {
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

  /**
   * Long-polls for the run's result. While Temporal is unreachable it keeps asking (the run
   * goes on in Temporal, and the caller's signal bounds the wait), so a statement approved
   * during or right after an outage runs as soon as the poll gets through.
   */
  async result(workflowId: string, runId: string, signal: AbortSignal): Promise<ApprovalResult> {
    let outage = 0;
    for (;;) {
      try {
        const r = await this.call(signal, async (client) => (await client.workflow.getHandle(workflowId, runId).result()) as ApprovalResult);
        if (outage > 0) this.log.info({ approval: workflowId, outageMs: Date.now() - outage }, 'Temporal reachable again; approval result received');
        return r;
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new ApprovalUnavailableError(`approval ${workflowId} failed: ${err.cause?.message ?? err.message}`, { cause: err });
        if (signal.aborted || !transient(err)) throw err;
        if (outage === 0) {
          outage = Date.now();
          this.log.warn({ approval: workflowId, err }, 'Temporal unreachable while waiting for an approval; polling again');
        }
        await sleep(RESULT_RETRY_MS, signal);
        signal.throwIfAborted();
      }
    }
  }

  /**
   * Starts the use marker of the approved run (approvalUseWorkflowId): Temporal admits one
   * workflow per id, running or closed (`REJECT_DUPLICATE`), so exactly one start succeeds
   * across all gateway nodes, and the record outlives them. A marker that holds this very use
   * counts as won: a start retried after its answer was lost must not refuse its own call.
   */
  async consume(use: ApprovalUse, signal: AbortSignal): Promise<UseClaim> {
    const workflowId = approvalUseWorkflowId(use.approvalId, use.runId);
    return await this.call(signal, async (client) => {
      try {
        await client.workflow.start(APPROVAL_USE_WORKFLOW, {
          taskQueue: this.temporal.taskQueue,
          workflowId,
          args: [use],
          memo: { ...use },
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          // The approvals worker completes it at once; without a worker it still closes (timed out), and a closed marker rejects a second start all the same.
          workflowExecutionTimeout: '1 hour',
        });
        return { won: true as const };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const usedBy = (await client.workflow.getHandle(workflowId).describe()).memo as ApprovalUse | undefined;
      if (usedBy && usedBy.sessionId === use.sessionId && usedBy.commandId === use.commandId && usedBy.nodeId === use.nodeId) return { won: true as const };
      return { won: false as const, usedBy };
    });
  }

  async close(): Promise<void> {
    const c = this.connecting;
    this.connecting = undefined;
    if (c) await c.then((x) => x.connection.close()).catch(() => undefined);
  }
}
