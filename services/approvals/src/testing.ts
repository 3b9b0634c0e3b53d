/**
 * @module @chaperone/approvals/testing
 * For tests and benchmarks (Slack is unreachable here): a local stand-in of the Slack Web API
 * that the real `@slack/web-api` client talks to (approvals.slack.apiUrl), and interactivity
 * payloads signed exactly as Slack signs them (v0 HMAC-SHA256 over `v0:{timestamp}:{body}`).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APPROVE_ACTION, DENY_ACTION, DENY_MODAL, REASON_BLOCK, REASON_INPUT } from './lib/slack/messages.js';
import { slackSignature } from './lib/slack/signature.js';

export { slackSignature };
export { INTERACTIVITY_PATH } from './lib/slack/interactivity.js';

/** One Web API call the stand-in received. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** Date.now() when it arrived. */
  at: number;
}

export interface SlackStandIn {
  /** The Web API base URL to configure as approvals.slack.apiUrl (ends in /api/). */
  readonly url: string;
  readonly port: number;
  readonly calls: SlackCall[];
  /** Resolves with the first call (already received or future) of `method` matching `match`. */
  waitFor(method: string, match?: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  /** Makes every call of `method` answer `{ ok: false, error }` until cleared with undefined. */
  failing(method: string, error: string | undefined): void;
  close(): Promise<void>;
}

function parseArgs(req: IncomingMessage, body: string): Record<string, unknown> {
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(body || '{}') as Record<string, unknown>;
  // @slack/web-api sends forms, with objects (blocks, view) as JSON strings.
  const args: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    if (/^[[{]/.test(v)) {
      try {
        args[k] = JSON.parse(v);
        continue;
      } catch {
        /* a plain string that starts with a bracket */
      }
    }
    args[k] = v;
  }
  return args;
}

/**
 * Starts the stand-in: chat.postMessage, chat.update, chat.postEphemeral, views.open and
 * auth.test, answering as Slack does (HTTP 200, `ok: false` with an error code on failure,
 * `invalid_auth` for any token other than `botToken`). Longer than a screen on purpose: one
 * short answer per Web API method, sharing the recorded calls.
 */
export async function startSlackStandIn(opts: { host?: string; port?: number; botToken?: string } = {}): Promise<SlackStandIn> {
  const token = opts.botToken ?? 'xoxb-standin';
  const calls: SlackCall[] = [];
  const waiters: { method: string; match: (c: SlackCall) => boolean; resolve: (c: SlackCall) => void }[] = [];
  const failures = new Map<string, string>();
  const messages = new Map<string, { channel: string }>();
  let seq = 0;

  const answer = (method: string, args: Record<string, unknown>): Record<string, unknown> => {
    const failure = failures.get(method);
    if (failure) return { ok: false, error: failure };
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', team_id: 'TSTANDIN' };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
        messages.set(ts, { channel: args.channel as string });
        return { ok: true, channel: args.channel, ts, message: { text: args.text, blocks: args.blocks } };
      }
      case 'chat.update':
        return messages.has(String(args.ts)) ? { ok: true, channel: args.channel, ts: args.ts } : { ok: false, error: 'message_not_found' };
      case 'chat.postEphemeral':
        return args.user && args.channel ? { ok: true, message_ts: `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}` } : { ok: false, error: 'user_not_in_channel' };
      case 'views.open':
        return args.trigger_id ? { ok: true, view: { id: `V${++seq}` } } : { ok: false, error: 'invalid_trigger_id' };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/api\//, '');
      let body: Record<string, unknown>;
      if (req.headers.authorization !== `Bearer ${token}`) body = { ok: false, error: 'invalid_auth' };
      else {
        let args: Record<string, unknown>;
        try {
          args = parseArgs(req, Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end();
          return;
        }
        const call = { method, args, at: Date.now() };
        calls.push(call);
        for (const w of [...waiters]) {
          if (w.method !== method || !w.match(call)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(call);
        }
        body = answer(method, args);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/api/`,
    port,
    calls,
    waitFor(method, match = () => true, timeoutMs = 15_000) {
      const seen = calls.find((c) => c.method === method && match(c));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { method, match, resolve: (c: SlackCall) => (clearTimeout(timer), resolve(c)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no ${method} call to the Slack stand-in within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    failing(method, error) {
      if (error === undefined) failures.delete(method);
      else failures.set(method, error);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The text of a posted message's blocks (for assertions). */
export function blocksText(args: Record<string, unknown>): string {
  return JSON.stringify(args.blocks ?? '') + JSON.stringify(args.text ?? '');
}

/** Payload of a click on Approve or Deny in a prompt. */
export function buttonClick(o: { slackUserId: string; approvalId: string; action: 'approve' | 'deny'; triggerId?: string; channel?: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: o.slackUserId },
    channel: { id: o.channel ?? 'C0APPROVALS' },
    trigger_id: o.triggerId ?? `trigger-${Date.now()}-${Math.random()}`,
    actions: [{ type: 'button', action_id: o.action === 'approve' ? APPROVE_ACTION : DENY_ACTION, block_id: 'chaperone_approval', value: o.approvalId, action_ts: String(Date.now() / 1000) }],
  };
}

/** Payload of the deny-reason modal's submission. */
export function denyReasonSubmission(o: { slackUserId: string; approvalId: string; reason: string }): Record<string, unknown> {
  return {
    type: 'view_submission',
    user: { id: o.slackUserId },
    view: { callback_id: DENY_MODAL, private_metadata: o.approvalId, state: { values: { [REASON_BLOCK]: { [REASON_INPUT]: { type: 'plain_text_input', value: o.reason } } } } },
  };
}

/** A request body and headers exactly as Slack sends them: form-encoded `payload`, v0 signature. */
export function signInteraction(signingSecret: string, payload: unknown, opts: { timestamp?: number; signature?: string } = {}): { body: string; headers: Record<string, string> } {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': opts.signature ?? slackSignature(signingSecret, ts, body),
    },
  };
}

/** POSTs a signed interaction to the endpoint (base URL of the interactivity listener). */
export async function sendInteraction(endpoint: string, signingSecret: string, payload: unknown, opts: { timestamp?: number; signature?: string } = {}): Promise<{ status: number; body: string }> {
  const { body, headers } = signInteraction(signingSecret, payload, opts);
  const res = await fetch(new URL('/slack/interactivity', endpoint), { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}
