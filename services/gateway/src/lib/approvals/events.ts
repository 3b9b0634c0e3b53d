import type { EventBody } from '@chaperone/events';
import type { HoldOutcome, HoldTicket } from './gate.js';

/** ApprovalRequested for a ticket: what a session records (and has acknowledged) before it waits. */
export function approvalRequested(commandId: number, t: HoldTicket): EventBody {
  const r = t.request;
  return { type: 'ApprovalRequested', commandId, approvalId: t.approvalId, bindingSha256: t.bindingSha256, approverGroups: r.approverGroups, quorum: r.quorum, ttlMs: r.ttlMs };
}

/**
 * ApprovalResolved for an outcome that is an answer (approved, reused, denied, expired);
 * undefined for PENDING, UNAVAILABLE and ABANDONED, which decide nothing and are not recorded,
 * and for USED: that approval's answer is recorded in the session that used it, and this call
 * is recorded as held (its Decision) with the new approval it asked for (ApprovalRequested).
 */
export function approvalResolved(commandId: number, out: HoldOutcome): EventBody | undefined {
  if (out.outcome === 'PENDING' || out.outcome === 'UNAVAILABLE' || out.outcome === 'ABANDONED' || out.outcome === 'USED') return undefined;
  return { type: 'ApprovalResolved', commandId, approvalId: out.approvalId, outcome: out.outcome, approvers: out.approvers, reason: out.reason };
}
