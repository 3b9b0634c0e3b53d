import type { Command } from 'commander';
import type { ApprovalStatus, ApprovalSummary } from '@chaperone/approvals';
import type { ApiClient } from '@chaperone/api/client';
import { printJson, printTable, UserError } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

interface Common extends ApiOptions {
  json?: boolean;
}

/** Approvals go through the API, which knows who asks (the token) and reaches Temporal itself. */
function withClient<T>(opts: Common, fn: (c: ApiClient) => Promise<T>): Promise<T> {
  return withApiClient(opts, fn);
}

const clip = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function describe(s: ApprovalStatus, id: string): string {
  const r = s.request;
  const answers = s.answers ?? [];
  const lines = [
    `approval    ${id} (${s.state})`,
    `requested   ${s.requestedAt} by ${r.subject} on ${r.connection} (session ${r.sessionId}, command ${r.commandId})`,
    `command     ${r.commandText.replace(/\n/g, '\n            ')}`,
    ...(r.reasons?.length ? [`why         ${r.reasons.join('\n            ')}`] : []),
    `approvers   ${(s.allowedGroups ?? r.approverGroups).join(', ')}${s.escalated ? ' (escalated)' : ''}; ${answers.length} of ${s.quorum ?? 1} approvals`,
    ...answers.map((a) => `            ${a.at} ${a.approver}${a.slackUserId ? ` (Slack ${a.slackUserId})` : ''} via ${a.via}${a.reason ? `: ${a.reason}` : ''}`),
    `expires     ${s.expiresAt}`,
  ];
  if (s.decidedAt) lines.push(`decided     ${s.decidedAt}${s.approver ? ` by ${s.approver}` : ''}${s.reason ? `: ${s.reason}` : ''}`);
  if (s.validUntil) lines.push(`reusable    until ${s.validUntil} (the same statement by ${r.subject} on ${r.connection} runs without asking)`);
  if (s.refused.length) lines.push(`refused     ${s.refused.map((x) => `${x.approver}: ${x.why}`).join('\n            ')}`);
  if (s.slack) lines.push(`slack       channel ${s.slack.channel}, message ${s.slack.ts}`);
  return `${lines.join('\n')}\n`;
}

/** Answers as the logged-in identity (the API takes subject and groups from the token); a refusal is reported, not thrown. */
async function answer(opts: Common & { reason?: string }, idArg: string, kind: 'approve' | 'deny'): Promise<void> {
  await withClient(opts, async (client) => {
    const r = await client.decideApproval(idArg, kind === 'approve', opts.reason);
    const after = r.status as ApprovalStatus;
    if (opts.json) printJson({ approvalId: r.approvalId, answer: kind, approver: after.approver ?? null, state: after.state, refused: r.refused ?? null, status: after });
    else if (r.refused) process.stderr.write(`chaperone: refused: ${r.refused}\n`);
    else if (after.state === 'PENDING') process.stdout.write(`${r.approvalId}: approval counted (${after.answers?.length ?? 0} of ${after.quorum ?? 1}); still pending\n`);
    else process.stdout.write(`${r.approvalId}: ${after.state.toLowerCase()} by ${after.approver ?? '?'}\n`);
    if (r.refused) process.exitCode = 1;
  });
}

/** Registers `chaperone approvals ls|show|approve|deny`. */
export function register(program: Command): void {
  const approvals = program
    .command('approvals')
    .summary('list, inspect and answer just-in-time approvals')
    .description(
      'Statements the policy holds for approval wait in a Temporal workflow until approvers answer, in Slack or here. ' +
        'An approval is bound to the exact command text, the identity and the connection: the same statement retried ' +
        'while the approval is valid runs without asking again. Ids look like approval-<64 hex>; any unique prefix of ' +
        'at least 8 hex characters works. These commands go through the Chaperone API, which answers as the identity ' +
        'you logged in with (`chaperone login`); no server configuration is needed.',
    );

  withApi(approvals.command('ls'))
    .description('List pending approvals, newest first (with --all also decided ones Temporal still keeps)')
    .option('--all', 'include approved, denied and expired approvals')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print the approvals as JSON')
    .action(async (opts: Common & { all?: boolean; limit: number }) => {
      if (!(opts.limit > 0)) throw new UserError('--limit must be a positive integer');
      const rows = (await withClient(opts, (c) => c.listApprovals({ all: opts.all ?? false, limit: opts.limit }))) as ApprovalSummary[];
      // Every row names its decider (approver; null while pending), as approve/deny --json do.
      if (opts.json) return printJson(rows.map((a) => ({ ...a, closedAt: a.closedAt ?? null, approver: a.approver ?? null, reason: a.reason ?? null })));
      printTable(
        rows.map((a) => ({ APPROVAL: `${a.approvalId.slice(0, 'approval-'.length + 12)}…`, STATE: a.state, 'REQUESTED (UTC)': a.requestedAt.slice(0, 19), SUBJECT: a.subject, CONNECTION: a.connection, COMMAND: clip(a.command.replace(/\s+/g, ' ')), BY: a.approver ?? '' })),
      );
    });

  withApi(approvals.command('show'))
    .description('Show one approval: the command, who asked, who may answer, the answers so far and the outcome')
    .argument('<id>', 'approval id (or a unique prefix)')
    .option('--json', 'print the status as JSON')
    .action(async (idArg: string, opts: Common) => {
      await withClient(opts, async (c) => {
        const { approvalId, status } = await c.getApproval(idArg);
        const s = status as ApprovalStatus;
        if (opts.json) printJson({ approvalId, ...s });
        else process.stdout.write(describe(s, approvalId));
      });
    });

  withApi(approvals.command('approve'))
    .description('Approve a held statement as the logged-in identity; the policy says which groups may (the requester cannot approve its own)')
    .argument('<id>', 'approval id (or a unique prefix)')
    .option('--reason <text>', 'a note recorded with the approval')
    .option('--json', 'print the resulting status as JSON')
    .addHelpText('after', '\nExample:\n  chaperone login && chaperone approvals approve approval-3f2a9c01 --reason "cleanup ticket OPS-42"\n')
    .action((idArg: string, opts: Common & { reason?: string }) => answer(opts, idArg, 'approve'));

  withApi(approvals.command('deny'))
    .description('Deny a held statement as the logged-in identity; the agent gets the reason as its error')
    .argument('<id>', 'approval id (or a unique prefix)')
    // Commander's help does not mark a required option: the usage line and its text say so.
    .usage('--reason <text> [options] <id>')
    .requiredOption('--reason <text>', 'required: why (shown to the agent)')
    .option('--json', 'print the resulting status as JSON')
    .action((idArg: string, opts: Common & { reason: string }) => answer(opts, idArg, 'deny'));
}
