import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { SlackApprovals } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import type { ApprovalRequest, ApprovalStatus, SlackMessageRef } from '@chaperone/approvals-contract';
import { denyModal, promptMessage, updatedMessage } from './messages.js';

/** Slack's client logs through our pino logger (stderr, JSON) instead of the console. */
function slackLogger(log: Logger): SlackLogger {
  const l = log.child({ component: 'slack-web-api' });
  const text = (msg: unknown[]) => msg.map(String).join(' ');
  return {
    debug: (...m: unknown[]) => l.debug(text(m)),
    info: (...m: unknown[]) => l.info(text(m)),
    warn: (...m: unknown[]) => l.warn(text(m)),
    error: (...m: unknown[]) => l.error(text(m)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/**
 * Posts and updates approval prompts through the real `@slack/web-api` client. Calls are not
 * retried here: the Temporal activity that makes them is (and the interactivity endpoint must
 * answer Slack within 3 s, https://api.slack.com/interactivity/handling#acknowledgment_response).
 */
export class SlackNotifier {
  readonly client: WebClient;
  readonly channel: string;

  constructor(slack: Pick<SlackApprovals, 'botToken' | 'apiUrl' | 'channel'>, log: Logger, opts: { timeoutMs?: number } = {}) {
    this.channel = slack.channel;
    this.client = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      logger: slackLogger(log),
      retryConfig: { retries: 0 },
      timeout: opts.timeoutMs ?? 10_000,
      // Method names must never redirect the bot token to another host.
      allowAbsoluteUrls: false,
    });
  }

  async postPrompt(workflowId: string, request: ApprovalRequest, expiresAt?: string): Promise<SlackMessageRef> {
    const r = await this.client.chat.postMessage({ channel: this.channel, ...promptMessage(workflowId, request, expiresAt), unfurl_links: false, unfurl_media: false });
    if (!r.ts || !r.channel) throw new Error('chat.postMessage answered without channel and ts');
    return { channel: r.channel, ts: r.ts };
  }

  async updatePrompt(ref: SlackMessageRef, workflowId: string, status: ApprovalStatus): Promise<void> {
    await this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...updatedMessage(workflowId, status) });
  }

  /** A reply in the prompt's thread (e.g. the escalation), also shown in the channel. */
  async reply(ref: SlackMessageRef, text: string): Promise<void> {
    await this.client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, reply_broadcast: true, text });
  }

  /** A message only `user` sees (why a click was refused). */
  async tell(user: string, text: string, channel = this.channel): Promise<void> {
    await this.client.chat.postEphemeral({ channel, user, text });
  }

  async openDenyModal(triggerId: string, workflowId: string, request?: Pick<ApprovalRequest, 'subject' | 'connection' | 'commandText'>): Promise<void> {
    await this.client.views.open({ trigger_id: triggerId, view: denyModal(workflowId, request) as never });
  }
}
