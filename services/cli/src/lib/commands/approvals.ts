import { userInfo } from 'node:os';
import type { Command } from 'commander';
import {
  ApprovalNotFoundError,
  createApprovalsClient,
  TemporalUnavailableError,
  type ApprovalsClient,
  type ApprovalStatus,
} from '@chaperone/approvals';
import type { Config } from '@chaperone/config';
import { configFrom, printJson, printTable, UserError, withConfig } from '../context.js';

interface Common {
  config?: string;
  json?: boolean;
}

async function withClient<T>(opts: Common, fn: (c: ApprovalsClient, config: Config) => Promise<T>): Promise<T> {
  const config = configFrom(opts);
  let client: ApprovalsClient;
  try {
    client = await createApprovalsClient(config.temporal, { connectTimeoutMs: 5_000 });
  } catch (err) {
    if (err instanceof TemporalUnavailableError) throw new UserError(err.message);
    throw err;
  }
  try {
    return await fn(client, config);
  } catch (err) {
    if (err instanceof ApprovalNotFoundError) throw new UserError(err.message);
    // A query needs a worker to answer it.
    if (/no poller|did not respond|deadline/i.test((err as Error).message ?? ''))
      throw new UserError(`Temporal did not answer for the approval (${(err as Error).message}); is \`chaperone approvals-worker\` running?`);
    throw err;
  } finally {
    await client.close();
  }
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

/** The identity answering from the CLI, with its groups from approvals.approvers. */
function approverFrom(config: Config, as: string | undefined): { approver: string; groups: string[] } {
  const subject = as ?? `user:${userInfo().username}`;
  const entry = config.approvals.approvers.find((a) => a.subject === subject);
  if (!entry) {
    const known = config.approvals.approvers.map((a) => a.subject);
    throw new UserError(`${subject} is not an approver: list it under approvals.approvers in ${config.configFile ?? 'the configuration'} with its groups${as ? '' : ', or pass --as <subject>'} (approvers: ${known.join(', ') || 'none configured'})`);
  }
  return { approver: entry.subject, groups: entry.groups };
}

/** Signals, then reads back what the workflow made of the answer (refusals are not errors to Temporal). */
async function answer(opts: Common & { as?: string; reason?: string }, idArg: string, kind: 'approve' | 'deny'): Promise<void> {
  await withClient(opts, async (client, config) => {
    const who = approverFrom(config, opts.as);
    const id = await client.resolveId(idArg);
    const before = await client.status(id);
    if (before.state !== 'PENDING') throw new UserError(`approval ${id} is already ${before.state.toLowerCase()}`);
    const decision = { ...who, via: 'cli' as const, ...(opts.reason ? { reason: opts.reason } : {}) };
    await (kind === 'approve' ? client.approve(id, decision) : client.deny(id, decision));
    let after = before;
    for (let i = 0; i < 50; i++) {
      after = await client.status(id).catch(() => after);
      const refused = after.refused.length > before.refused.length;
      const counted = (after.answers?.length ?? 0) > (before.answers?.length ?? 0);
      if (refused || counted || after.state !== 'PENDING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const refusal = after.refused.length > before.refused.length ? after.refused[after.refused.length - 1] : undefined;
    if (opts.json) printJson({ approvalId: id, answer: kind, approver: who.approver, state: after.state, refused: refusal?.why ?? null, status: after });
    else if (refusal) process.stderr.write(`chaperone: refused: ${refusal.why}\n`);
    else if (after.state === 'PENDING') process.stdout.write(`${id}: approval counted (${after.answers?.length ?? 0} of ${after.quorum ?? 1}); still pending\n`);
    else process.stdout.write(`${id}: ${after.state.toLowerCase()} by ${after.approver ?? who.approver}\n`);
    if (refusal) process.exitCode = 1;
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
        'at least 8 hex characters works. These commands talk to temporal.address directly.',
    );

  withConfig(approvals.command('ls'))
    .description('List pending approvals, newest first (with --all also decided ones Temporal still keeps)')
    .option('--all', 'include approved, denied and expired approvals')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print the approvals as JSON')
    .action(async (opts: Common & { all?: boolean; limit: number }) => {
      if (!(opts.limit > 0)) throw new UserError('--limit must be a positive integer');
      const rows = await withClient(opts, (c) => c.list({ all: opts.all ?? false, limit: opts.limit }));
      if (opts.json) return printJson(rows);
      printTable(
        rows.map((a) => ({ APPROVAL: `${a.approvalId.slice(0, 'approval-'.length + 12)}…`, STATE: a.state, 'REQUESTED (UTC)': a.requestedAt.slice(0, 19), SUBJECT: a.subject, CONNECTION: a.connection, COMMAND: clip(a.command.replace(/\s+/g, ' ')), BY: a.approver ?? '' })),
      );
    });

  withConfig(approvals.command('show'))
    .description('Show one approval: the command, who asked, who may answer, the answers so far and the outcome')
    .argument('<id>', 'approval id (or a unique prefix)')
    .option('--json', 'print the status as JSON')
    .action(async (idArg: string, opts: Common) => {
      await withClient(opts, async (c) => {
        const id = await c.resolveId(idArg);
        const s = await c.status(id);
        if (opts.json) printJson({ approvalId: id, ...s });
        else process.stdout.write(describe(s, id));
      });
    });

  withConfig(approvals.command('approve'))
    .description('Approve a held statement as an approver listed in approvals.approvers (the requester cannot approve its own)')
    .argument('<id>', 'approval id (or a unique prefix)')
    .option('--as <subject>', 'the approver identity (default: user:<your login name>)')
    .option('--reason <text>', 'a note recorded with the approval')
    .option('--json', 'print the resulting status as JSON')
    .addHelpText('after', '\nExample:\n  chaperone approvals approve approval-3f2a9c01 --as user:alice --reason "cleanup ticket OPS-42"\n')
    .action((idArg: string, opts: Common & { as?: string; reason?: string }) => answer(opts, idArg, 'approve'));

  withConfig(approvals.command('deny'))
    .description('Deny a held statement; the agent gets the reason as its error')
    .argument('<id>', 'approval id (or a unique prefix)')
    .requiredOption('--reason <text>', 'why (shown to the agent)')
    .option('--as <subject>', 'the approver identity (default: user:<your login name>)')
    .option('--json', 'print the resulting status as JSON')
    .action((idArg: string, opts: Common & { as?: string; reason: string }) => answer(opts, idArg, 'deny'));
}
