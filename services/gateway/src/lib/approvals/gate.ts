import type { Config } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { sha256Hex } from '../hash.js';
import type { ApprovalRequirement } from '../policy/index.js';
import { approvalBinding, approvalWorkflowId, memoOf, type ApprovalRequest, type ApprovalResult, type ApprovalUse } from '@chaperone/approvals-contract';
import { ApprovalUnavailableError } from './errors.js';
import type { ApprovalWorkflows, UseClaim } from './workflows.js';
import { errorMessage } from '@chaperone/observability';

/** One held command. */
export interface HoldRequest {
  sessionId: string;
  commandId: number;
  subject: string;
  connection: string;
  /** Exactly as the agent sent it: the approval is bound to this text. */
  commandText: string;
  requirement: ApprovalRequirement;
  /** The policy's reasons, shown to approvers. */
  reasons: string[];
  /** The approval releases this command once (see singleUseApproval). @default false */
  singleUse?: boolean;
  /** The gateway node holding the command, recorded with the use of a single-use approval. @default 'unknown' */
  nodeId?: string;
}

/** A request as the gateway builds it: the contract's optional fields always filled in. */
export type GatewayApprovalRequest = ApprovalRequest & Required<Pick<ApprovalRequest, 'quorum' | 'validForMs' | 'reasons'>>;

/** What the session learns before it waits (to record ApprovalRequested and tell the agent). */
export interface HoldTicket {
  approvalId: string;
  bindingSha256: string;
  request: GatewayApprovalRequest;
  /** An approval granted earlier for this binding is still valid: no waiting. */
  reused: boolean;
}

export type HoldOutcome =
  | { outcome: 'APPROVED' | 'REUSED' | 'DENIED' | 'EXPIRED'; approvalId: string; approvers: string[]; reason: string }
  /**
   * A single-use approval that another call (on any node) has already used: refused, and a new
   * approval of the same binding was requested (the agent sends the call again once it is approved).
   */
  | { outcome: 'USED'; approvalId: string; approvers: string[]; reason: string }
  /** Still undecided when the caller's bound passed (HTTP answers 403 with Retry-After). */
  | { outcome: 'PENDING'; approvalId: string; approvers: string[]; reason: string }
  /** Temporal unreachable or the workflow failed: refuse (fail closed). */
  | { outcome: 'UNAVAILABLE'; approvalId: string | undefined; approvers: string[]; reason: string }
  /** The session ended while waiting; the approval goes on in Temporal. */
  | { outcome: 'ABANDONED'; approvalId: string | undefined; approvers: string[]; reason: string };

export interface HoldOptions {
  /** Called once the approval is started, joined or found reusable, before waiting. */
  onTicket?: (t: HoldTicket) => void | Promise<void>;
  /** Ends the wait (e.g. the session closed). */
  signal?: AbortSignal;
  /** Longest wait for a decision. @default the request's TTL + 30 s (the workflow expires itself at its TTL) */
  maxWaitMs?: number;
}

/** The gateway side of just-in-time approval (services/README.md "Approvals are bound"). */
export interface ApprovalGate {
  hold(req: HoldRequest, opts?: HoldOptions): Promise<HoldOutcome>;
  close(): Promise<void>;
}

/** How an answer is recorded in ApprovalResolved.approvers: the identity, and the Slack user who clicked. */
export function approverLabels(r: ApprovalResult): string[] {
  const answers = r.answers ?? (r.approver ? [{ approver: r.approver, via: 'api', at: '' }] : []);
  return answers.map((a) => (a.slackUserId ? `${a.approver} (slack:${a.slackUserId})` : `${a.approver} (${a.via})`));
}

const WAIT_MARGIN_MS = 30_000;

/**
 * Starts, joins or reuses the approval of one command and waits for its outcome. The workflow
 * id is derived from the binding, so: a running approval for the same command, identity and
 * connection is joined (a reconnecting agent does not ask twice); a closed APPROVED one is
 * reused while its validUntil is ahead; anything else starts a new run of that id.
 */
export class TemporalApprovalGate implements ApprovalGate {
  constructor(
    private readonly workflows: ApprovalWorkflows,
    private readonly approvals: Config['approvals'],
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  buildRequest(req: HoldRequest, approvalId: string): GatewayApprovalRequest {
    const ttlMs = Math.max(1, Math.min(req.requirement.ttlMs, this.approvals.timeoutMs));
    const esc = this.approvals.escalation;
    return {
      approvalId,
      sessionId: req.sessionId,
      commandId: String(req.commandId),
      subject: req.subject,
      connection: req.connection,
      commandText: req.commandText,
      commandSha256: sha256Hex(req.commandText),
      approverGroups: req.requirement.approverGroups,
      ttlMs,
      quorum: Math.max(1, req.requirement.quorum),
      ...(req.singleUse ? { singleUse: true } : {}),
      // The policy's TTL says how long an approval stays usable; approvals.timeout only bounds the wait.
      validForMs: Math.max(0, req.requirement.ttlMs),
      reasons: req.reasons,
      ...(esc && esc.afterMs < ttlMs ? { escalation: { afterMs: esc.afterMs, groups: esc.groups } } : {}),
    };
  }

  async hold(req: HoldRequest, opts: HoldOptions = {}): Promise<HoldOutcome> {
    const bindingSha256 = approvalBinding(req.subject, req.connection, req.commandText);
    const approvalId = approvalWorkflowId(bindingSha256);
    const request = this.buildRequest(req, approvalId);
    const outer = opts.signal;
    const ac = new AbortController();
    const abort = () => ac.abort(outer?.reason);
    outer?.addEventListener('abort', abort, { once: true });
    const maxWaitMs = opts.maxWaitMs ?? request.ttlMs + WAIT_MARGIN_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error('wait bound reached'));
    }, maxWaitMs);
    const none = { approvers: [] as string[] };
    try {
      if (outer?.aborted) return { outcome: 'ABANDONED', approvalId, ...none, reason: 'the session ended' };
      return await this.decide(req, { approvalId, bindingSha256, request, reused: false }, opts, ac.signal);
    } catch (err) {
      if (ac.signal.aborted) {
        if (timedOut) return { outcome: 'PENDING', approvalId, ...none, reason: `still waiting for approval after ${Math.round(maxWaitMs / 1000)} s` };
        return { outcome: 'ABANDONED', approvalId, ...none, reason: 'the session ended while waiting' };
      }
      const reason = err instanceof ApprovalUnavailableError ? err.message : `approval service error: ${errorMessage(err)}`;
      this.log.warn({ approval: approvalId, err }, 'approval unavailable; refusing the held command');
      return { outcome: 'UNAVAILABLE', approvalId, ...none, reason };
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', abort);
    }
  }

  /** Reuses a valid approval, or starts / joins one and waits for its answer; a single-use approval is claimed before it counts. */
  private async decide(req: HoldRequest, ticket: HoldTicket, opts: HoldOptions, signal: AbortSignal): Promise<HoldOutcome> {
    const { approvalId } = ticket;
    const latest = await this.workflows.latest(approvalId, signal);
    if (latest.state === 'CLOSED' && latest.result?.outcome === 'APPROVED' && latest.result.validUntil && Date.parse(latest.result.validUntil) > this.now()) {
      const claim = req.singleUse ? await this.claim(req, approvalId, latest.runId, signal) : ({ won: true } as const);
      if (!claim.won) return await this.askAgain(ticket, latest.result, claim.usedBy, opts, signal);
      await opts.onTicket?.({ ...ticket, reused: true });
      return { outcome: 'REUSED', approvalId, approvers: approverLabels(latest.result), reason: `approved until ${latest.result.validUntil}` };
    }
    const runId = latest.state === 'RUNNING' ? latest.runId : (await this.workflows.start(approvalId, ticket.request, memoOf(ticket.request), signal)).runId;
    this.log.info({ approval: approvalId, session: req.sessionId, command: req.commandId, joined: latest.state === 'RUNNING' }, 'command held for approval');
    await opts.onTicket?.(ticket);
    signal.throwIfAborted();
    const r = await this.workflows.result(approvalId, runId, signal);
    if (r.outcome === 'APPROVED' && req.singleUse) {
      // Two calls waiting on one approval (joined, or on two nodes): the approval releases one of them.
      const claim = await this.claim(req, approvalId, runId, signal);
      if (!claim.won) return await this.askAgain(ticket, r, claim.usedBy, opts, signal);
    }
    return { outcome: r.outcome, approvalId, approvers: approverLabels(r), reason: r.reason ?? (r.outcome === 'EXPIRED' ? `no decision within ${Math.round(ticket.request.ttlMs / 1000)} s` : '') };
  }

  private async claim(req: HoldRequest, approvalId: string, runId: string, signal: AbortSignal): Promise<UseClaim> {
    const use: ApprovalUse = { approvalId, runId, sessionId: req.sessionId, commandId: String(req.commandId), nodeId: req.nodeId ?? 'unknown', at: new Date(this.now()).toISOString() };
    const claim = await this.workflows.consume(use, signal);
    this.log.info({ approval: approvalId, run: runId, session: req.sessionId, command: req.commandId, won: claim.won, ...(claim.won ? {} : { usedBy: claim.usedBy }) }, claim.won ? 'single-use approval used' : 'single-use approval already used');
    return claim;
  }

  /** The approval was used by another call: this one is refused, and a new approval of the same binding is requested (not waited for). */
  private async askAgain(ticket: HoldTicket, used: ApprovalResult, usedBy: ApprovalUse | undefined, opts: HoldOptions, signal: AbortSignal): Promise<HoldOutcome> {
    await this.workflows.start(ticket.approvalId, ticket.request, memoOf(ticket.request), signal);
    await opts.onTicket?.(ticket);
    const by = usedBy ? ` by session ${usedBy.sessionId} (command ${usedBy.commandId}) on ${usedBy.nodeId} at ${usedBy.at}` : '';
    return { outcome: 'USED', approvalId: ticket.approvalId, approvers: approverLabels(used), reason: `already used${by}` };
  }

  close(): Promise<void> {
    return this.workflows.close();
  }
}
