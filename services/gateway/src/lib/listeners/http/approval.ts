/**
 * Just-in-time approval of an HTTP request (issue #6; services/README.md "Approvals are bound"). A
 * request whose decision is `approval` starts, joins or reuses the Temporal approval bound to
 * its exact command text, identity and connection, and is held up to `approvals.httpHold`:
 * approved in time → forwarded; still pending → `403` with the approval id and `Retry-After`,
 * and the agent's retry of the same request waits again, or goes through once approved. An MCP
 * tool call's approval is single use (singleUseApproval): it releases one call, and the same call
 * after it is refused (`USED`) while a new approval is requested.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@chaperone/observability';
import { approvalRequested, approvalResolved, singleUseApproval, type ApprovalGate, type HoldOutcome, type HoldTicket } from '../../approvals/index.js';
import type { HttpCommand } from '../../protocols/http/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import type { HttpSession } from './session.js';

/** What the gateway had read of the body when it decided (see exchange.ts preRead). */
export interface BodySeen {
  chunks: Buffer[];
  bytes: number;
  /** The whole body is in `chunks`. */
  ended: boolean;
}

/**
 * The exact command text an HTTP approval is bound to: the parsed command's text (the request
 * line `METHOD /path?query` as the agent sent it, plus what the protocol adds: a git push's ref
 * updates `old new ref`), then one line for the body:
 *
 *   - `body: none`
 *   - `body: sha256:<hex> (<n> bytes)` — the whole body, as received (after transfer decoding)
 *   - `body: first <n> bytes sha256:<hex> of <Content-Length> bytes|of a chunked body` — a body
 *     larger than what the gateway reads before deciding (64 KiB, or what the protocol inspects);
 *     the rest streams and is not bound. A git push is still bound exactly: its ref updates name
 *     the new commits, whose content their ids fix.
 *
 * So an identical retry (same method, path, query, body) reuses the approval; any other
 * request, including the same one with another body, asks again. Headers are not bound.
 */
export function approvalCommandText(cmd: HttpCommand, body: BodySeen, contentLength: string | undefined): string {
  const h = createHash('sha256');
  for (const c of body.chunks) h.update(c);
  const digest = `sha256:${h.digest('hex')}`;
  let line: string;
  if (body.bytes === 0 && body.ended) line = 'body: none';
  else if (body.ended) line = `body: ${digest} (${body.bytes} bytes)`;
  else line = `body: first ${body.bytes} bytes ${digest} of ${contentLength !== undefined ? `${contentLength} bytes` : 'a chunked body'}`;
  return `${cmd.text}\n${line}`;
}

/** How long a request that cannot be held may take to start or join its approval. */
const START_BOUND_MS = 10_000;
/** Retry-After after a hold: the retry waits on the gateway again, so it may come soon. */
export const RETRY_AFTER_HELD_S = 5;
/** Retry-After when the request could not be held (its retry is answered at once until approved). */
export const RETRY_AFTER_UNHELD_S = 30;

export interface ApprovalHold {
  session: HttpSession;
  commandId: number;
  decision: PolicyDecision;
  commandText: string;
  /** The whole body is in memory (or there is none), so the request can wait and then be forwarded. */
  canHold: boolean;
  /** Fires when the agent goes away: the wait ends (the approval goes on in Temporal). */
  signal: AbortSignal;
}

/** What the agent is told, and whether the request is forwarded. */
export type ApprovalVerdict =
  | { forward: true; outcome: HoldOutcome; ticket: HoldTicket | undefined }
  | { forward: false; outcome: HoldOutcome; ticket: HoldTicket | undefined; held: boolean };

/**
 * Holds one request for approval; records ApprovalRequested (acknowledged before the wait, so a
 * node that dies while holding leaves the request on record) and ApprovalResolved for an
 * outcome (not for PENDING / UNAVAILABLE / ABANDONED, like the PostgreSQL side).
 */
export async function holdForApproval(a: ApprovalHold, gate: ApprovalGate, holdMs: number, log: Logger): Promise<ApprovalVerdict> {
  const { session, decision: d, commandId } = a;
  const info = session.info;
  const requirement = d.approval;
  if (!requirement) {
    // parseDecision refuses an approval without a requirement; fail closed all the same.
    const outcome: HoldOutcome = { outcome: 'UNAVAILABLE', approvalId: undefined, approvers: [], reason: 'the policy asked for approval without saying who approves' };
    return { forward: false, outcome, ticket: undefined, held: false };
  }
  const stop = new AbortController();
  const gone = (): void => stop.abort(a.signal.reason);
  if (a.signal.aborted) gone();
  a.signal.addEventListener('abort', gone, { once: true });
  let ticket: HoldTicket | undefined;
  try {
    const out = await gate.hold(
      {
        sessionId: info.sessionId,
        commandId,
        subject: info.identity.subject,
        connection: info.connection.name,
        commandText: a.commandText,
        requirement,
        reasons: d.reasons,
        singleUse: singleUseApproval(info.connection.http.kind),
        nodeId: info.nodeId,
      },
      {
        signal: stop.signal,
        maxWaitMs: a.canHold ? holdMs : START_BOUND_MS,
        onTicket: async (t) => {
          ticket = t;
          session.append(approvalRequested(commandId, t));
          await session.recorder.flush();
          // Started or joined: a request whose body cannot be replayed does not wait for the answer.
          if (!a.canHold && !t.reused) stop.abort(new Error('not held'));
        },
      },
    );
    if (out.outcome === 'ABANDONED' && !a.signal.aborted && ticket) {
      // Our own stop (the body cannot be held): the approval is requested, the agent retries.
      const pending: HoldOutcome = { outcome: 'PENDING', approvalId: ticket.approvalId, approvers: [], reason: 'the request body is too large to be held while approvers answer' };
      return { forward: false, outcome: pending, ticket, held: false };
    }
    const resolved = approvalResolved(commandId, out);
    if (resolved) session.append(resolved);
    log.info({ session: info.sessionId, command: commandId, approval: out.approvalId, outcome: out.outcome, held: a.canHold }, 'http request approval');
    if (out.outcome === 'APPROVED' || out.outcome === 'REUSED') return { forward: true, outcome: out, ticket };
    return { forward: false, outcome: out, ticket, held: a.canHold };
  } finally {
    a.signal.removeEventListener('abort', gone);
  }
}

/**
 * The exact command text an upgrade's approval is bound to (it has no body): the request line
 * without its method, as `UPGRADE /path?query`, then `body: none`. The method is left out
 * because kubectl (>= 1.30) tries `exec` over WebSocket (GET, RFC 6455 §4.1) and, when that
 * upgrade is refused, the very same URL over SPDY (POST): both attempts are one command, held on
 * one approval, and an approved `kubectl exec` opens whichever tunnel comes.
 */
export function upgradeCommandText(cmd: HttpCommand): string {
  const [line = '', ...rest] = cmd.text.split('\n');
  const target = line.slice(line.indexOf(' ') + 1);
  return [`UPGRADE ${target}`, ...rest, 'body: none'].join('\n');
}
