/**
 * The rules of an approval as pure functions over its state, so they are unit-tested without
 * Temporal and the workflow stays a thin loop. Imported by workflow code: no Node built-ins,
 * no clocks (callers pass workflow time).
 */
import type { ApprovalAnswer, ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus, SlackMessageRef } from '@chaperone/approvals-contract';

/** Refused answers kept for the status query (a flood of clicks must not grow it without bound). */
export const MAX_REFUSED = 20;
const MAX_REASON = 1000;

export interface ApprovalState {
  request: ApprovalRequest;
  requestedAt: number;
  quorum: number;
  allowedGroups: string[];
  escalated: boolean;
  /** Approvals counted so far, one per approver. */
  answers: ApprovalAnswer[];
  refused: ApprovalStatus['refused'];
  result: ApprovalResult | undefined;
  slack: SlackMessageRef | undefined;
}

export type AnswerKind = 'approve' | 'deny';

/** What became of one answer. */
export type AnswerEffect =
  | { effect: 'refused'; why: string }
  | { effect: 'ignored'; why: string }
  | { effect: 'counted'; counted: number; quorum: number }
  | { effect: 'decided'; result: ApprovalResult };

/** Why the workflow cannot honour this request, or undefined. Mirrors validateApprovalRequest for the fields the workflow relies on. */
export function requestProblem(r: ApprovalRequest): string | undefined {
  if (!(typeof r?.ttlMs === 'number' && r.ttlMs > 0)) return `ttlMs must be a positive number, got ${r?.ttlMs}`;
  if (typeof r.subject !== 'string' || r.subject === '') return 'subject must be a non-empty string';
  if (!Array.isArray(r.approverGroups)) return 'approverGroups must be an array';
  if (r.quorum !== undefined && !(Number.isInteger(r.quorum) && r.quorum >= 1)) return `quorum must be an integer >= 1, got ${r.quorum}`;
  if (r.validForMs !== undefined && !(r.validForMs >= 0)) return `validForMs must be >= 0, got ${r.validForMs}`;
  if (r.escalation && !(r.escalation.afterMs > 0 && Array.isArray(r.escalation.groups))) return 'escalation needs afterMs > 0 and groups';
  return undefined;
}

export function newState(request: ApprovalRequest, now: number): ApprovalState {
  return {
    request,
    requestedAt: now,
    quorum: request.quorum ?? 1,
    allowedGroups: [...request.approverGroups],
    escalated: false,
    answers: [],
    refused: [],
    result: undefined,
    slack: undefined,
  };
}

/** From now on the escalation groups may answer too. */
export function escalate(state: ApprovalState): string[] {
  const groups = state.request.escalation?.groups ?? [];
  state.escalated = true;
  for (const g of groups) if (!state.allowedGroups.includes(g)) state.allowedGroups.push(g);
  return groups;
}

function refuse(state: ApprovalState, approver: string, why: string): AnswerEffect {
  state.refused.push({ approver, why });
  if (state.refused.length > MAX_REFUSED) state.refused.shift();
  return { effect: 'refused', why };
}

const iso = (ms: number) => new Date(ms).toISOString();

function decide(state: ApprovalState, outcome: 'APPROVED' | 'DENIED', last: ApprovalAnswer, answers: ApprovalAnswer[], now: number): AnswerEffect {
  const validFor = state.request.validForMs ?? state.request.ttlMs;
  state.result = {
    outcome,
    approver: last.approver,
    ...(last.reason !== undefined ? { reason: last.reason } : {}),
    answers,
    decidedAt: iso(now),
    ...(outcome === 'APPROVED' ? { validUntil: iso(now + validFor) } : {}),
  };
  return { effect: 'decided', result: state.result };
}

/**
 * Applies one approve or deny answer (services/README.md "Approvals are bound"): the requester can never
 * approve its own command; only members of an allowed group count; approvals from distinct
 * approvers accumulate to the quorum; one denial from an allowed approver — or the requester
 * withdrawing its own command — decides. After the decision every answer is ignored, so a
 * late or double click cannot flip it.
 */
export function applyAnswer(state: ApprovalState, kind: AnswerKind, d: ApprovalDecision, now: number): AnswerEffect {
  const approver = typeof d?.approver === 'string' ? d.approver : '';
  if (state.result) return { effect: 'ignored', why: `already ${state.result.outcome.toLowerCase()}` };
  if (approver === '') return refuse(state, '(unknown)', 'the answer names no approver');
  const reason = typeof d.reason === 'string' && d.reason !== '' ? d.reason.slice(0, MAX_REASON) : undefined;
  const answer: ApprovalAnswer = {
    approver,
    ...(d.slackUserId !== undefined ? { slackUserId: d.slackUserId } : {}),
    via: d.via ?? 'api',
    at: iso(now),
    ...(reason !== undefined ? { reason } : {}),
  };
  const self = approver === state.request.subject;
  const member = (d.groups ?? []).some((g) => state.allowedGroups.includes(g));
  if (kind === 'deny') {
    // Withdrawing one's own command is always safe; anyone else must be an approver.
    if (!self && !member) return refuse(state, approver, `not in an approver group (${state.allowedGroups.join(', ') || 'none'})`);
    return decide(state, 'DENIED', answer, [answer], now);
  }
  if (self) return refuse(state, approver, 'self-approval is not allowed');
  if (!member) return refuse(state, approver, `not in an approver group (${state.allowedGroups.join(', ') || 'none'})`);
  if (state.answers.some((a) => a.approver === approver)) return { effect: 'ignored', why: 'this approver already approved' };
  state.answers.push(answer);
  if (state.answers.length >= state.quorum) return decide(state, 'APPROVED', answer, [...state.answers], now);
  return { effect: 'counted', counted: state.answers.length, quorum: state.quorum };
}

export function expire(state: ApprovalState, now: number): ApprovalResult {
  state.result ??= { outcome: 'EXPIRED', answers: [...state.answers], decidedAt: iso(now) };
  return state.result;
}

/** The answer of the `status` query. */
export function statusOf(state: ApprovalState): ApprovalStatus {
  const r = state.result;
  return {
    state: r?.outcome ?? 'PENDING',
    request: state.request,
    requestedAt: iso(state.requestedAt),
    expiresAt: iso(state.requestedAt + state.request.ttlMs),
    ...(r?.decidedAt !== undefined ? { decidedAt: r.decidedAt } : {}),
    ...(r?.approver !== undefined ? { approver: r.approver } : {}),
    ...(r?.reason !== undefined ? { reason: r.reason } : {}),
    refused: [...state.refused],
    answers: r?.answers ? [...r.answers] : [...state.answers],
    quorum: state.quorum,
    allowedGroups: [...state.allowedGroups],
    escalated: state.escalated,
    ...(state.slack ? { slack: state.slack } : {}),
    ...(r?.validUntil !== undefined ? { validUntil: r.validUntil } : {}),
  };
}
