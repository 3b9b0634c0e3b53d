import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '@chaperone/observability';
import type { SlackNotifier } from './slack/notifier.js';
import type { ApprovalRequest, ApprovalStatus, PingInput, PingResult, SlackMessageRef } from '@chaperone/approvals-contract';

/** What activities need from the process; injected so tests can pass their own. */
export interface ActivityDeps {
  log: Logger;
  /** Node id of this worker, reported back by `ping`. */
  nodeId: string;
  /** @default () => new Date() */
  now?: () => Date;
  /** Where prompts go; without it approvals are answered through the CLI only and the Slack activities do nothing. */
  slack?: SlackNotifier;
}

const MAX_PING_MESSAGE = 1024;

/**
 * Builds the activity implementations bound to their dependencies (the Temporal
 * "activities-dependency-injection" pattern): the worker registers the returned object, and
 * workflows proxy them by name through the {@link Activities} type. The names are part of
 * workflow histories: renaming one breaks the replay of running approvals.
 */
export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const { slack, log } = deps;
  return {
    /** Answers with who ran it and when: proves a worker polls the queue and runs activities. */
    // eslint-disable-next-line @typescript-eslint/require-await -- activities are async by contract
    async ping(input: PingInput): Promise<PingResult> {
      if (typeof input?.message !== 'string' || input.message.length > MAX_PING_MESSAGE)
        // A malformed request will not get better on retry.
        throw ApplicationFailure.nonRetryable(`ping message must be a string of at most ${MAX_PING_MESSAGE} characters`, 'INVALID_PING');
      deps.log.debug({ message: input.message }, 'ping activity');
      return { message: input.message, nodeId: deps.nodeId, at: now().toISOString() };
    },

    /** Posts the prompt with Approve / Deny buttons; null when Slack is not configured. */
    async postPrompt(input: { workflowId: string; request: ApprovalRequest; expiresAt: string }): Promise<SlackMessageRef | null> {
      if (!slack) return null;
      const ref = await slack.postPrompt(input.workflowId, input.request, input.expiresAt);
      log.info({ approval: input.workflowId, channel: ref.channel, ts: ref.ts }, 'approval prompt posted');
      return ref;
    },

    /** Shows where the approval stands on the prompt (buttons removed once decided). */
    async updatePrompt(input: { workflowId: string; ref: SlackMessageRef; status: ApprovalStatus }): Promise<void> {
      if (!slack) return;
      await slack.updatePrompt(input.ref, input.workflowId, input.status);
    },

    /** Announces the escalation in the prompt's thread. */
    async announce(input: { ref: SlackMessageRef | null; text: string }): Promise<void> {
      if (!slack) return;
      if (input.ref) await slack.reply(input.ref, input.text);
      else await slack.client.chat.postMessage({ channel: slack.channel, text: input.text });
    },

    /** Tells one Slack user (ephemerally) what became of their click. */
    async tell(input: { slackUserId: string; text: string; channel?: string }): Promise<void> {
      if (!slack) return;
      await slack.tell(input.slackUserId, input.text, input.channel);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
