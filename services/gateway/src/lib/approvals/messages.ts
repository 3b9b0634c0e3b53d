import type { HoldOutcome, HoldTicket } from './gate.js';

// What an agent is told about a held command (PostgreSQL NOTICE / ErrorResponse text): which
// approval, from whom, and what to do next.

export function waitingNotice(t: HoldTicket, reasons: string[]): string {
  const r = t.request;
  return (
    `chaperone: waiting for approval ${t.approvalId} from ${r.approverGroups.join(' or ')}${r.quorum > 1 ? ` (${r.quorum} approvers)` : ''}: ` +
    `${reasons.join('; ')}; it expires in ${Math.round(r.ttlMs / 1000)} s`
  );
}

export function approvedNotice(o: HoldOutcome): string {
  return `chaperone: ${o.outcome === 'REUSED' ? 'approved earlier' : 'approved'} by ${o.approvers.join(', ')} (${o.approvalId}); running it`;
}

/** The error a held command gets when it may not run. */
export function approvalRefusal(o: HoldOutcome): string {
  switch (o.outcome) {
    case 'DENIED':
      return `chaperone: approval ${o.approvalId} was denied by ${o.approvers.join(', ') || 'an approver'}${o.reason ? `: ${o.reason}` : ''}; the statement was not run`;
    case 'EXPIRED':
      return `chaperone: approval ${o.approvalId} expired (${o.reason}); the statement was not run. Send it again to ask again`;
    case 'USED':
      return `chaperone: approval ${o.approvalId} was already used (${o.reason}) and releases its command once; the statement was not run. A new approval was requested: send it again once it is approved`;
    case 'PENDING':
      return `chaperone: approval ${o.approvalId} is still pending (${o.reason}); the statement was not run. Once it is approved, send the same statement again: it runs without a new prompt`;
    default:
      return `chaperone: the statement needs approval, but approvals are unavailable (${o.reason}); it was not run`;
  }
}
