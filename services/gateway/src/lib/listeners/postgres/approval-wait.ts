import type { Logger } from '@chaperone/observability';
import type { PgNotice } from '../../protocols/postgres/index.js';
import { approvalRefusal, approvalRequested, approvalResolved, approvedNotice, mergeRequirements, waitingNotice, type ApprovalGate, type HoldOutcome } from '../../approvals/index.js';
import type { SessionRecorder } from '../../recording/index.js';
import type { DecisionContext, Verdict } from './commands.js';

/** One execution the policy sent to approval. */
export interface HeldExecution {
  verdict: Verdict;
  /** The SQL text exactly as the agent sent it (Query or Parse): the approval is bound to it. */
  sql: string;
  /** The recorded Commands that need the approval; ApprovalRequested/Resolved name the first. */
  commandIds: number[];
}

/** run: forward it. Otherwise answer `error`, or nothing when the session ended while waiting. */
export type WaitResult = { run: true } | { run: false; error: PgNotice | undefined };

/** The ids of a verdict's statements that need approval, its first Command being `firstId`. */
export function approvalCommandIds(v: Verdict, firstId: number): number[] {
  const ids = v.statements.flatMap((st, i) => (st.decision.result === 'approval' ? [firstId + i] : []));
  return ids.length > 0 ? ids : [firstId];
}

const CANCELLED = 'cancelled';
const ENDED = 'session-ended';

/**
 * The waits of one session's statements for approval (services/README.md "Approvals are bound"):
 * records ApprovalRequested, tells the agent what it waits for, waits for the approval workflow
 * and records ApprovalResolved, all acknowledged by the event log before anything is forwarded.
 * A CancelRequest for the session ends a wait the way PostgreSQL ends a running statement.
 */
export class ApprovalWaits {
  private readonly waiting = new Set<AbortController>();

  constructor(
    private readonly gate: ApprovalGate,
    private readonly recorder: SessionRecorder,
    private readonly ctx: DecisionContext,
    /** Sends a NOTICE to the agent, after the answers to what was forwarded before. */
    private readonly notice: (message: string) => void,
    private readonly log: Logger,
  ) {}

  /**
   * Ends the waits in progress as a CancelRequest ends a running statement: the agent gets
   * 57014 and the statement is not run. False when nothing was waiting (PostgreSQL also
   * ignores a cancel that arrives between statements).
   */
  cancel(): boolean {
    for (const ac of this.waiting) ac.abort(CANCELLED);
    return this.waiting.size > 0;
  }

  /** The session ended: stop waiting (the approval goes on in Temporal; a retry finds it). */
  abortAll(): void {
    for (const ac of this.waiting) ac.abort(ENDED);
  }

  async wait(h: HeldExecution): Promise<WaitResult> {
    const v = h.verdict;
    const commandId = h.commandIds[0]!;
    const requirement = mergeRequirements(v.statements.map((st) => st.decision));
    if (!requirement) {
      const message = `chaperone: this statement needs approval, but no approver group may approve all of its statements (${v.reasons.join('; ')}); send them one at a time`;
      return { run: false, error: { severity: 'ERROR', code: '42501', message } };
    }
    const ac = new AbortController();
    this.waiting.add(ac);
    let out: HoldOutcome;
    try {
      out = await this.gate.hold(
        { sessionId: this.ctx.sessionId, commandId, subject: this.ctx.identity.subject, connection: this.ctx.connection.name, commandText: h.sql, requirement, reasons: v.reasons },
        {
          signal: ac.signal,
          onTicket: async (t) => {
            this.recorder.append(approvalRequested(commandId, t));
            if (!t.reused) this.notice(waitingNotice(t, v.reasons));
            // Durable before the wait: a node that dies while holding still leaves the request on record.
            await this.recorder.flush();
          },
        },
      );
    } finally {
      this.waiting.delete(ac);
    }
    if (out.outcome === 'ABANDONED') return ac.signal.reason === CANCELLED ? await this.cancelled(h, out.approvalId) : { run: false, error: undefined };
    const resolved = approvalResolved(commandId, out);
    if (resolved) this.recorder.append(resolved);
    const approved = out.outcome === 'APPROVED' || out.outcome === 'REUSED';
    if (approved) this.notice(approvedNotice(out));
    await this.recorder.flush();
    return approved ? { run: true } : { run: false, error: { severity: 'ERROR', code: '42501', message: approvalRefusal(out) } };
  }

  /**
   * The agent cancelled while it waited. The approval workflow has no way to withdraw a request
   * (and another session may wait on the same one), so it stays open in Temporal: if approved
   * later, a retry of the same statement runs without a new prompt. What the record says is
   * that these commands were not run: a later Decision (DENY, with the reason) for each.
   */
  private async cancelled(h: HeldExecution, approvalId: string | undefined): Promise<WaitResult> {
    const reason = `cancelled by the client (CancelRequest) while waiting for approval${approvalId ? ` ${approvalId}` : ''}; not run`;
    const revision = h.verdict.statements[0]?.decision.revision ?? '';
    for (const commandId of h.commandIds)
      this.recorder.append({ type: 'Decision', commandId, result: 'DENY', reasons: [reason], policyRevision: revision, evalMicros: 0, outputJson: JSON.stringify({ cancelled: true, approvalId: approvalId ?? '' }) });
    await this.recorder.flush();
    this.log.info({ session: this.ctx.sessionId, approval: approvalId, commands: h.commandIds }, 'held statement cancelled by the client');
    return {
      run: false,
      error: { severity: 'ERROR', code: '57014', message: 'canceling statement due to user request', detail: `chaperone: the statement was waiting for approval${approvalId ? ` ${approvalId}` : ''} and was not run` },
    };
  }
}
