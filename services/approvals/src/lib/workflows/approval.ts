/**
 * The approval workflow (since the `approval-v2` patch): posts the Slack prompt, collects
 * approve/deny signals until the quorum is met, a denial arrives or the TTL passes, escalates
 * to a second group after a delay, updates the prompt with the outcome and returns it.
 * Workflow code: deterministic, replayed from history (see workflows.replay.test.ts).
 */
import { allHandlersFinished, ApplicationFailure, condition, log, ParentClosePolicy, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities.js';
import { approveSignal, denySignal, statusQuery } from '../definitions.js';
import type { ApprovalDecision, ApprovalRequest, ApprovalResult, ApprovalStatus, SlackMessageRef } from '@chaperone/approvals-contract';
import { applyAnswer, escalate, expire, newState, requestProblem, statusOf, type AnswerKind } from './rules.js';

// Slack calls are best effort: approvals still work through the CLI when Slack is down, so a
// failing call is retried a few times and then given up, never failing the workflow.
const slack = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

function quietly(what: string, p: Promise<unknown>): Promise<void> {
  return p.then(
    () => undefined,
    (err: unknown) => log.warn(`${what} failed; approvals still work through the CLI`, { error: (err as Error)?.message }),
  );
}

type State = ReturnType<typeof newState>;

/** The approve / deny signals and the status query; a Slack clicker is told what the click did. */
function handleAnswers(state: State, workflowId: string): void {
  const status = () => statusOf(state);
  const onAnswer = async (kind: AnswerKind, d: ApprovalDecision) => {
    const effect = applyAnswer(state, kind, d, Date.now());
    if (effect.effect === 'refused') log.warn('refused an answer', { kind, approver: d?.approver, why: effect.why });
    if (!d?.slackUserId) return;
    // Tell the one who clicked what their click did; decisions themselves show on the prompt.
    const text =
      effect.effect === 'refused'
        ? `Your ${kind} of approval ${workflowId} was refused: ${effect.why}.`
        : effect.effect === 'ignored'
          ? `Your ${kind} of approval ${workflowId} changed nothing: ${effect.why}.`
          : effect.effect === 'counted'
            ? `Your approval is counted: ${effect.counted} of ${effect.quorum}.`
            : undefined;
    if (text) await quietly('telling the Slack user', slack.tell({ slackUserId: d.slackUserId, text, ...(state.slack ? { channel: state.slack.channel } : {}) }));
    if (effect.effect === 'counted' && state.slack) await quietly('updating the prompt', slack.updatePrompt({ workflowId, ref: state.slack, status: status() }));
  };
  setHandler(approveSignal, (d) => onAnswer('approve', d));
  setHandler(denySignal, (d) => onAnswer('deny', d));
  setHandler(statusQuery, status);
}

/** After `afterMs` without a decision: the escalation groups may answer too, announced in the prompt's thread. */
async function escalateWhenQuiet(state: State, workflowId: string, esc: { afterMs: number }, posting: Promise<void>): Promise<void> {
  if (await condition(() => state.result !== undefined, esc.afterMs)) return;
  const groups = escalate(state);
  await posting;
  await quietly(
    'announcing the escalation',
    slack.announce({ ref: state.slack ?? null, text: `No answer to approval ${workflowId} after ${Math.round(esc.afterMs / 1000)} s: escalated to ${groups.join(', ')}, who may answer now.` }),
  );
  if (state.slack) await quietly('updating the prompt', slack.updatePrompt({ workflowId, ref: state.slack, status: statusOf(state) }));
}

export async function approvalV2(request: ApprovalRequest): Promise<ApprovalResult> {
  const problem = requestProblem(request);
  if (problem) throw ApplicationFailure.nonRetryable(`invalid approval request: ${problem}`, 'INVALID_APPROVAL_REQUEST');
  const { workflowId } = workflowInfo();
  const state = newState(request, Date.now());
  const decided = () => state.result !== undefined;
  handleAnswers(state, workflowId);

  const expiresAt = new Date(state.requestedAt + request.ttlMs).toISOString();
  // Not awaited before waiting: an answer through the CLI may come while the post is retried.
  let posted = false;
  const posting = slack.postPrompt({ workflowId, request, expiresAt }).then(
    (ref) => {
      if (ref) state.slack = ref;
    },
    (err: unknown) => log.warn('posting the Slack prompt failed; approvals still work through the CLI', { error: (err as Error)?.message }),
  );
  void posting.then(() => (posted = true));

  const deadline = state.requestedAt + request.ttlMs;
  const esc = request.escalation;
  if (esc && esc.afterMs < request.ttlMs) await escalateWhenQuiet(state, workflowId, esc, posting);
  if (!decided() && !(await condition(decided, Math.max(1, deadline - Date.now())))) expire(state, Date.now());

  // The waiting command runs when this run closes, so the prompt's final update must not hold
  // it up (a Slack round trip): a child workflow, left running, makes it. A prompt still being
  // posted (Slack slow, answer from the CLI) is not waited for; late clicks on it are told the
  // approval is no longer pending.
  if (posted && state.slack) {
    await startChild(promptOutcomeWorkflow, {
      workflowId: `${workflowId}-outcome-${workflowInfo().runId}`,
      args: [{ workflowId, ref: state.slack, status: statusOf(state) }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }
  // Answers still being acknowledged (ephemeral messages) finish before the run closes.
  await condition(allHandlersFinished);
  return state.result!;
}

/** Shows the outcome on the prompt (buttons removed); started by approvalV2 as it closes. */
export async function promptOutcomeWorkflow(input: { workflowId: string; ref: SlackMessageRef; status: ApprovalStatus }): Promise<void> {
  await quietly('updating the prompt', slack.updatePrompt(input));
}
