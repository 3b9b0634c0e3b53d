/**
 * Block Kit for the approval prompt, its outcome and the deny-reason modal: pure functions
 * (no I/O) so their shape is unit-tested. Limits cited from https://api.slack.com/reference/block-kit/blocks:
 * section text ≤ 3000 characters, header ≤ 150, button value ≤ 2000, modal title ≤ 24.
 */
import type { ApprovalRequest, ApprovalStatus } from '@chaperone/approvals-contract';

/** action_id of the buttons and callback_id of the modal: the interactivity endpoint routes on them. */
export const APPROVE_ACTION = 'chaperone_approve';
export const DENY_ACTION = 'chaperone_deny';
export const DENY_MODAL = 'chaperone_deny_reason';
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason';

const MAX_COMMAND = 2800;

// Slack mrkdwn needs only these three escaped (https://api.slack.com/reference/surfaces/formatting#escaping).
export const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The command as a code block; a ``` inside it would end the block early. */
function codeBlock(text: string): string {
  const body = clip(text, MAX_COMMAND).replace(/```/g, '`\u200b``');
  return `\`\`\`${escapeMrkdwn(body)}\`\`\``;
}

const slackDate = (iso: string) => `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short_pretty} {time_secs}|${iso}>`;

type Block = Record<string, unknown>;

function requestBlocks(workflowId: string, request: ApprovalRequest, expiresAt: string | undefined): Block[] {
  const quorum = request.quorum ?? 1;
  const fields = [
    `*Requested by*\n\`${escapeMrkdwn(request.subject)}\``,
    `*Connection*\n\`${escapeMrkdwn(request.connection)}\``,
    `*Approvers*\n${escapeMrkdwn(request.approverGroups.join(', ') || '(none)')}${quorum > 1 ? ` (${quorum} needed)` : ''}`,
    ...(expiresAt ? [`*Expires*\n${slackDate(expiresAt)}`] : []),
  ];
  const reasons = request.reasons ?? [];
  return [
    { type: 'header', text: { type: 'plain_text', text: clip(`Approval needed on ${request.connection}`, 150) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
    { type: 'section', text: { type: 'mrkdwn', text: `*Command*\n${codeBlock(request.commandText)}` } },
    ...(reasons.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(`*Why*\n${reasons.map((r) => `• ${escapeMrkdwn(r)}`).join('\n')}`, 3000) } }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `approval \`${workflowId}\` · session \`${escapeMrkdwn(request.sessionId)}\` · command ${escapeMrkdwn(request.commandId)}` }] },
  ];
}

/** The prompt: who, which connection, the exact command, the policy's reasons, Approve / Deny. */
export function promptMessage(workflowId: string, request: ApprovalRequest, expiresAt?: string): { text: string; blocks: Block[] } {
  return {
    text: `Approval needed: ${request.subject} on ${request.connection}: ${clip(request.commandText, 200)}`,
    blocks: [
      ...requestBlocks(workflowId, request, expiresAt),
      {
        type: 'actions',
        block_id: 'chaperone_approval',
        elements: [
          { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: workflowId },
          { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: workflowId },
        ],
      },
    ],
  };
}

const who = (a: { approver: string; slackUserId?: string }) => `\`${escapeMrkdwn(a.approver)}\`${a.slackUserId ? ` (<@${a.slackUserId}>)` : ''}`;

/** One line on where the approval stands, for the updated message. */
export function outcomeLine(status: ApprovalStatus): string {
  const answers = status.answers ?? [];
  switch (status.state) {
    case 'APPROVED':
      return `:white_check_mark: *Approved* by ${answers.map(who).join(', ') || who({ approver: status.approver ?? '?' })}${status.validUntil ? `; reusable until ${slackDate(status.validUntil)}` : ''}`;
    case 'DENIED': {
      const a = answers[0] ?? { approver: status.approver ?? '?' };
      return `:x: *Denied* by ${who(a)}${status.reason ? `: ${escapeMrkdwn(clip(status.reason, 1000))}` : ''}`;
    }
    case 'EXPIRED':
      return ':hourglass: *Expired* without enough approvals; the command was not run';
    case 'PENDING':
      return `:hourglass_flowing_sand: ${answers.length} of ${status.quorum ?? 1} approvals: ${answers.map(who).join(', ')}`;
  }
}

/** The prompt after an answer: the buttons go once decided; a partial quorum keeps them. */
export function updatedMessage(workflowId: string, status: ApprovalStatus): { text: string; blocks: Block[] } {
  const base = status.state === 'PENDING' ? promptMessage(workflowId, status.request, status.expiresAt) : { text: '', blocks: requestBlocks(workflowId, status.request, undefined) };
  const line = { type: 'section', text: { type: 'mrkdwn', text: outcomeLine(status) } };
  const blocks = status.state === 'PENDING' ? [...base.blocks.slice(0, -1), line, base.blocks[base.blocks.length - 1]!] : [...base.blocks, line];
  return { text: `${status.state.toLowerCase()}: ${status.request.subject} on ${status.request.connection}`, blocks };
}

/** The modal Deny opens: the reason goes back to the agent (https://api.slack.com/surfaces/modals). */
export function denyModal(workflowId: string, request: Pick<ApprovalRequest, 'subject' | 'connection' | 'commandText'> | undefined): Block {
  return {
    type: 'modal',
    callback_id: DENY_MODAL,
    private_metadata: workflowId,
    title: { type: 'plain_text', text: 'Deny command' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      ...(request ? [{ type: 'section', text: { type: 'mrkdwn', text: `\`${escapeMrkdwn(request.subject)}\` on \`${escapeMrkdwn(request.connection)}\`\n${codeBlock(clip(request.commandText, 1000))}` } }] : []),
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason (the agent sees it)' },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: 1000 },
      },
    ],
  };
}
