/**
 * The Slack interactivity endpoint (https://api.slack.com/interactivity/handling): Slack POSTs
 * `application/x-www-form-urlencoded` with one field, `payload`, a JSON document —
 * `block_actions` when Approve or Deny is clicked (actions[0].action_id and .value, user.id,
 * trigger_id), `view_submission` when the deny-reason modal is submitted. Every request must
 * carry a valid v0 signature inside the five-minute window and not be a replay; the click's
 * Slack user must map to an approver identity (approvals.approvers). The workflow then applies
 * the rules (no self-approval, approver groups, quorum) and tells the user what it did.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Approver, HostPort } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { ApprovalNotFoundError, BadRequest, SlackRequestRejectedError } from '../errors.js';
import type { ApprovalDecision } from '@chaperone/approvals-contract';
import { APPROVE_ACTION, DENY_ACTION, DENY_MODAL, REASON_BLOCK, REASON_INPUT } from './messages.js';
import type { SlackNotifier } from './notifier.js';
import { ReplayGuard, verifySlackSignature } from './signature.js';

export const INTERACTIVITY_PATH = '/slack/interactivity';
const MAX_BODY = 1024 * 1024;
const APPROVAL_ID = /^approval-[0-9a-f]{64}$/;

export type InteractivityResult = 'approve' | 'deny' | 'deny-dialog' | 'rejected' | 'unmapped-user' | 'not-pending' | 'ignored' | 'bad-request' | 'error';

export interface InteractivityDeps {
  signingSecret: string;
  approvers: Approver[];
  /** Sends the answer to the workflow (the approvals client's approve/deny). */
  answer: { approve(workflowId: string, d: ApprovalDecision): Promise<void>; deny(workflowId: string, d: ApprovalDecision): Promise<void> };
  slack: SlackNotifier;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
  onResult?: (result: InteractivityResult) => void;
}

interface SlackPayload {
  type?: string;
  user?: { id?: string };
  channel?: { id?: string };
  trigger_id?: string;
  actions?: { action_id?: string; value?: string }[];
  view?: { callback_id?: string; private_metadata?: string; state?: { values?: Record<string, Record<string, { value?: string | null }>> } };
}


function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new BadRequest(`body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parsePayload(req: IncomingMessage, body: Buffer): SlackPayload {
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded'))
    throw new BadRequest('expected application/x-www-form-urlencoded');
  const raw = new URLSearchParams(body.toString('utf8')).get('payload');
  if (raw === null) throw new BadRequest('no payload field');
  try {
    return JSON.parse(raw) as SlackPayload;
  } catch {
    throw new BadRequest('payload is not JSON');
  }
}

/**
 * The request handler: usable on its own server or mounted in another. Longer than a screen on
 * purpose: it is a closure whose body is two steps (`act` on a verified payload, `handle` for
 * the HTTP exchange) sharing the replay guard and the approver map; each reads in one screen.
 */
export function createInteractivityHandler(deps: InteractivityDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const now = deps.now ?? Date.now;
  const replays = new ReplayGuard();
  const bySlackUser = new Map(deps.approvers.filter((a) => a.slackUserId).map((a) => [a.slackUserId!, a]));
  const log = deps.log.child({ component: 'slack-interactivity' });

  const tell = async (user: string, text: string, channel?: string) => {
    await deps.slack.tell(user, text, channel).catch((err: Error) => log.warn({ err, user }, 'could not tell the Slack user'));
  };

  async function act(p: SlackPayload): Promise<{ result: InteractivityResult; body?: unknown }> {
    const slackUserId = p.user?.id ?? '';
    const channel = p.channel?.id;
    let workflowId: string;
    let kind: 'approve' | 'deny' | 'dialog';
    let reason: string | undefined;
    if (p.type === 'block_actions') {
      const a = p.actions?.[0];
      if (a?.action_id !== APPROVE_ACTION && a?.action_id !== DENY_ACTION) return { result: 'ignored' };
      workflowId = a.value ?? '';
      kind = a.action_id === APPROVE_ACTION ? 'approve' : 'dialog';
    } else if (p.type === 'view_submission' && p.view?.callback_id === DENY_MODAL) {
      workflowId = p.view.private_metadata ?? '';
      kind = 'deny';
      reason = p.view.state?.values?.[REASON_BLOCK]?.[REASON_INPUT]?.value ?? undefined;
    } else return { result: 'ignored' };
    if (!APPROVAL_ID.test(workflowId)) throw new BadRequest('the action names no approval');
    const approver = bySlackUser.get(slackUserId);
    if (!approver) {
      log.warn({ slackUserId, approval: workflowId }, 'click from a Slack user that maps to no approver');
      await tell(slackUserId, `Your Slack user (${slackUserId}) is not mapped to an approver identity, so your answer to ${workflowId} was not counted. Ask the Chaperone operators to add you to approvals.approvers.`, channel);
      return { result: 'unmapped-user' };
    }
    if (kind === 'dialog') {
      try {
        await deps.slack.openDenyModal(p.trigger_id ?? '', workflowId);
        return { result: 'deny-dialog' };
      } catch (err) {
        // Denying is always safe: without the dialog, deny with no reason rather than not at all.
        log.warn({ err, approval: workflowId }, 'could not open the deny dialog; denying without a reason');
        reason = 'denied in Slack (no reason given)';
        kind = 'deny';
      }
    }
    const decision: ApprovalDecision = { approver: approver.subject, groups: approver.groups, slackUserId, via: 'slack', ...(reason ? { reason } : {}) };
    try {
      await (kind === 'approve' ? deps.answer.approve(workflowId, decision) : deps.answer.deny(workflowId, decision));
    } catch (err) {
      if (!(err instanceof ApprovalNotFoundError)) throw err;
      if (p.type === 'view_submission') return { result: 'not-pending', body: { response_action: 'errors', errors: { [REASON_BLOCK]: 'This approval is no longer pending.' } } };
      await tell(slackUserId, `Approval ${workflowId} is no longer pending (already decided or expired).`, channel);
      return { result: 'not-pending' };
    }
    log.info({ approval: workflowId, kind, approver: approver.subject, slackUserId }, 'Slack answer sent to the workflow');
    return { result: kind === 'approve' ? 'approve' : 'deny' };
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<InteractivityResult> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'POST' || url.pathname !== INTERACTIVITY_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`POST ${INTERACTIVITY_PATH}\n`);
      return 'bad-request';
    }
    try {
      const body = await readBody(req);
      const timestamp = req.headers['x-slack-request-timestamp'];
      const signature = req.headers['x-slack-signature'];
      const headers = { timestamp: typeof timestamp === 'string' ? timestamp : undefined, signature: typeof signature === 'string' ? signature : undefined };
      const nowS = Math.floor(now() / 1000);
      verifySlackSignature(deps.signingSecret, headers, body, nowS);
      replays.check(headers.signature!, headers.timestamp!, nowS);
      const { result, body: answer } = await act(parsePayload(req, body));
      // Slack closes a modal on an empty 200, and shows errors from a JSON response_action.
      if (answer === undefined) res.writeHead(200).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      return result;
    } catch (err) {
      if (err instanceof SlackRequestRejectedError) {
        log.warn({ problem: err.problem, client: req.socket.remoteAddress }, 'refused an interactivity request');
        res.writeHead(401, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
        return 'rejected';
      }
      if (err instanceof BadRequest) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
        return 'bad-request';
      }
      log.error({ err }, 'interactivity request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
      return 'error';
    }
  };
  return (req, res) => {
    void handle(req, res).then((r) => deps.onResult?.(r));
  };
}

export interface InteractivityServer {
  server: Server;
  /** The real port (when listening on port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startInteractivityServer(listen: HostPort, deps: InteractivityDeps): Promise<InteractivityServer> {
  const server = createServer(createInteractivityHandler(deps));
  // Slack waits 3 s for an answer; a client that sends its request slower than this is not Slack.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
