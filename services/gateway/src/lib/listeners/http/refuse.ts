import type { ServerResponse } from 'node:http';
import { singleFrame } from '@chaperone/events';
import type { HoldOutcome, HoldTicket } from '../../approvals/index.js';
import { formatResponseHead } from '../../protocols/http/index.js';
import { mcpRefusal } from './analyze-mcp.js';
import { guardOf } from './guard.js';
import type { HttpSession } from './session.js';
import type { Kind, Refusal } from './types.js';

const REASON: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 413: 'RequestEntityTooLarge', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
const OCI_CODE: Record<number, string> = { 401: 'UNAUTHORIZED', 403: 'DENIED', 404: 'NAME_UNKNOWN', 413: 'SIZE_INVALID' };

/**
 * Shapes the refusal the way the agent's client prints errors: a Kubernetes `Status` for
 * kubectl, the distribution error envelope for registry clients, plain text for git and curl.
 * Every message starts with "chaperone:" so the agent knows who refused.
 */
export function refusal(kind: Kind, status: number, message: string): Refusal {
  const text = message.startsWith('chaperone:') ? message : `chaperone: ${message}`;
  if (kind === 'k8s') {
    const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: text, reason: REASON[status] ?? 'InternalError', code: status };
    return json(status, body);
  }
  if (kind === 'mcp') return mcpRefusal(status, text);
  if (kind === 'oci') return json(status, { errors: [{ code: OCI_CODE[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'DENIED'), message: text, detail: null }] });
  return { status, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from(`${text}\n`) };
}

function json(status: number, value: unknown): Refusal {
  return { status, headers: [['Content-Type', 'application/json']], body: Buffer.from(JSON.stringify(value)) };
}

/**
 * Sends a refusal, recording it in the session when there is one. On HTTP/1.1 every refusal
 * closes the connection, and nothing the agent sent after the refused request is parsed,
 * recorded or forwarded (guard.ts). On HTTP/2 `close` (the request body was not read) resets
 * the stream once the answer is out; the connection stays usable, as nghttp2 frames requests.
 */
export function sendRefusal(res: ServerResponse, r: Refusal, opts: { session?: HttpSession; close?: boolean; challenge?: boolean; commandId?: number } = {}): void {
  const guard = res.req.httpVersionMajor === 2 ? undefined : guardOf(res.req.socket);
  if (guard) {
    guard.markRefused();
    opts = { ...opts, close: true };
  }
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: [string, string][] = [...r.headers, ['Content-Length', String(r.body.length)]];
  // git, skopeo and docker send credentials only after a Basic challenge (never a Bearer one:
  // registry clients would go looking for a token realm).
  if (opts.challenge) headers.push(['WWW-Authenticate', 'Basic realm="chaperone", charset="UTF-8"']);
  if (opts.close) headers.push(['Connection', 'close']);
  const flat = headers.flat();
  if (opts.session) {
    // As the agent sees it: HTTP/2 has no reason phrase (RFC 9113 §8.3.2).
    const h2 = res.req.httpVersionMajor === 2;
    const reason = h2 || res.req.method === 'HEAD' ? '' : statusText(r.status);
    // A refusal answers the refused request's Command (events v3), when there is one.
    const commandId = opts.commandId ?? 0;
    opts.session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', formatResponseHead(r.status, reason, h2 ? '2.0' : '1.1', flat), { commandId }));
    if (r.body.length > 0) opts.session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.body', r.body, { commandId }));
  }
  if (opts.close) res.shouldKeepAlive = false;
  res.writeHead(r.status, flat);
  res.end(res.req.method === 'HEAD' ? undefined : r.body);
}

function statusText(status: number): string {
  return REASON[status]?.replace(/([a-z])([A-Z])/g, '$1 $2') ?? '';
}

/** The answer to a command the policy did not allow (an `approval` without an approval gate refuses too). */
export function policyRefusal(x: { kind: Kind; analysis: { refusal?(status: number, message: string): Refusal | undefined } }, _cmd: unknown, d: { result: string; reasons: string[] }): Refusal {
  const why = d.reasons.join('; ') || (d.result === 'approval' ? 'policy requires approval' : 'not allowed');
  const message = d.result === 'approval' ? `chaperone: this request needs approval: ${why}` : `chaperone: denied by policy: ${why}`;
  return x.analysis.refusal?.(403, message) ?? refusal(x.kind, 403, message);
}

/** A held request's outcome as the agent is told it (see approval.ts). */
export interface ApprovalAnswer {
  outcome: HoldOutcome;
  ticket: HoldTicket | undefined;
  /** The request waited on the gateway (false: its body could not be held). */
  held: boolean;
  holdMs: number;
  retryAfterS: number;
  reasons: string[];
}

function approvalMessage(a: ApprovalAnswer): string {
  const o = a.outcome;
  const id = o.approvalId ?? 'approval';
  const r = a.ticket?.request;
  const who = r ? ` from ${r.approverGroups.join(' or ')}${r.quorum > 1 ? ` (${r.quorum} approvers)` : ''}` : '';
  const why = a.reasons.join('; ') || 'policy requires approval';
  switch (o.outcome) {
    case 'PENDING':
      return a.held
        ? `chaperone: this request needs approval (${why}); approval ${id}${who} is still pending after ${Math.round(a.holdMs / 1000)} s, so the request was not forwarded. Send the same request again (Retry-After: ${a.retryAfterS}): it waits again, and once approved it goes through without a new prompt`
        : `chaperone: this request needs approval (${why}); approval ${id}${who} was requested, but the request body is too large to be held while approvers answer, so it was not forwarded. Send the same request again once it is approved`;
    case 'DENIED':
      return `chaperone: approval ${id} was denied by ${o.approvers.join(', ') || 'an approver'}${o.reason ? `: ${o.reason}` : ''}; the request was not forwarded`;
    case 'EXPIRED':
      return `chaperone: approval ${id} expired (${o.reason}); the request was not forwarded. Send it again to ask again`;
    case 'USED':
      return `chaperone: approval ${id} was ${o.reason}: an approved call runs once, so this one was not forwarded. A new approval ${id}${who} was requested: send the same call again (Retry-After: ${a.retryAfterS}); it waits for the answer and runs once approved`;
    default:
      return `chaperone: this request needs approval (${why}), but approvals are unavailable (${o.reason}); it was not forwarded`;
  }
}

/**
 * The answer to a request held for approval that may not go through (yet): 403 (503 when the
 * approval service is unavailable) in the client's error format, carrying the approval id, whom
 * it waits for and, while pending, a `Retry-After` (RFC 9110 §10.2.3). A git push gets its
 * report-status, which git prints per ref.
 */
export function approvalRefusal(x: { kind: Kind; analysis: { refusal?(status: number, message: string, approval?: Record<string, unknown>): Refusal | undefined } }, a: ApprovalAnswer): Refusal {
  const o = a.outcome;
  const unavailable = o.outcome === 'UNAVAILABLE' || o.outcome === 'ABANDONED';
  const status = unavailable ? 503 : 403;
  const message = approvalMessage(a);
  const retry = o.outcome === 'PENDING' || o.outcome === 'USED' || unavailable;
  const extra: [string, string][] = retry ? [['Retry-After', String(a.retryAfterS)]] : [];
  const r = a.ticket?.request;
  const approval = {
    id: o.approvalId ?? null,
    status: o.outcome.toLowerCase(),
    approverGroups: r?.approverGroups ?? [],
    quorum: r?.quorum ?? null,
    reasons: a.reasons,
    ...(o.approvers.length > 0 ? { approvers: o.approvers } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    ...(retry ? { retryAfterSeconds: a.retryAfterS } : {}),
  };
  const native = x.analysis.refusal?.(status, message, approval);
  if (native) return { ...native, headers: [...native.headers, ...extra] };
  let base: Refusal;
  if (x.kind === 'k8s') {
    // kubectl prints `message`; details.retryAfterSeconds is the Status field for exactly this.
    const details = { name: o.approvalId ?? '', kind: 'approvals', ...(retry ? { retryAfterSeconds: a.retryAfterS } : {}), causes: [{ reason: `Approval${o.outcome[0]}${o.outcome.slice(1).toLowerCase()}`, message: o.reason || message }] };
    base = json(status, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASON[status] ?? 'Forbidden', details, code: status });
  } else if (x.kind === 'oci') base = json(status, { errors: [{ code: unavailable ? 'UNAVAILABLE' : 'DENIED', message, detail: { approval } }] });
  else if (x.kind === 'git') base = refusal('git', status, message);
  else base = json(status, { error: `approval_${approval.status}`, message, approval });
  return { ...base, headers: [...base.headers, ...extra] };
}
