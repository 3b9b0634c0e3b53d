import { InvalidArgumentError, type Command } from 'commander';
import { formatMicros, type SessionMsg } from '@chaperone/api/client';
import type { SessionFilter } from '@chaperone/store';
import { printJson, printTable, UserError } from '../context.js';
import { parseSince, positiveInt, withApi, withApiClient, type ApiOptions } from '../grpc-client.js';
import { registerEnd } from './sessions-end.js';

const state = (s: SessionMsg) => s.state || (!s.ended ? 'open' : !s.complete ? 'incomplete' : s.sealed ? 'sealed' : 'ended');

const VERDICTS = ['ALLOW', 'DENY', 'APPROVAL', 'MASK'] as const;
const STATES = ['open', 'sealed', 'ended', 'incomplete'] as const;

function oneOf<T extends string>(name: string, values: readonly T[], upper = false): (v: string) => T {
  return (v: string) => {
    const x = (upper ? v.toUpperCase() : v.toLowerCase()) as T;
    if (!values.includes(x)) throw new InvalidArgumentError(`${name}: expected one of ${values.join(', ')}, got "${v}"`);
    return x;
  };
}

interface LsOpts extends ApiOptions {
  subject?: string;
  connection?: string;
  since?: string;
  until?: string;
  verdict?: SessionFilter['verdict'];
  denied?: boolean;
  state?: SessionFilter['state'];
  before?: number;
  limit: number;
  json?: boolean;
}
/**
 * `--before`: a cursor (the microseconds a previous page's hint printed) or a time like --until.
 * Sessions started strictly before it are listed (newest first).
 */
export function parseBefore(value: string, now = Date.now()): number {
  if (/^\d{16}$/.test(value)) return Number(value);
  try {
    return parseSince(value, now);
  } catch {
    throw new UserError(`--before: expected a cursor from a previous page's hint, a duration back (1h) or a date (2026-01-15T12:00Z); got "${value}"`);
  }
}

/**
 * One page out of `limit + 1` rows, newest first: the rows to show and, when more exist, the
 * `--before` cursor of the next page. A session sharing the last shown one's start time is shown
 * again on the next page rather than skipped (the cursor is a start time, not a position).
 */
export function pageOf<T extends { startedMicros: number }>(rows: T[], limit: number): { shown: T[]; next?: number } {
  if (rows.length <= limit) return { shown: rows };
  const shown = rows.slice(0, limit);
  const last = shown.at(-1)!.startedMicros;
  return { shown, next: rows[limit]!.startedMicros === last ? last + 1 : last };
}

/** The stderr line after a page that has more after it. */
export const moreHint = (shown: number, next: number) =>
  `${shown} sessions shown; more with --before ${next} (and the same filters)\n`;

/** A session in the JSON style, without the API's deprecated alias (finalHash = sealedHash). */
export function sessionJson(s: SessionMsg): Omit<SessionMsg, 'finalHash'> {
  const { finalHash: _, ...rest } = s;
  return rest;
}

const when = (micros: number) => (micros ? formatMicros(micros).slice(0, 19) : '');

/** Registers `chaperone sessions ls|show|end`. */
export function register(program: Command): void {
  const sessions = program.command('sessions')
      .summary('list and show recorded sessions').description('Recorded sessions (from the recording store, through the API)');

  registerList(sessions);
  registerShow(sessions);
  registerEnd(sessions);
}

/** `chaperone sessions ls`: a page of sessions, newest first, with a hint for the next page. */
function registerList(sessions: Command): void {
  withApi(
    sessions
      .command('ls')
      .description('List recorded sessions, newest first')
      .option('--subject <subject>', 'only sessions of this identity (exact, e.g. ci:deploy-bot)')
      .option('--connection <name>', 'only sessions to this connection')
      .option('--since <when>', 'only sessions started since: a duration back (15m, 1h, 7d) or a date (2026-01-15T12:00Z)')
      .option('--until <when>', 'only sessions started before: a duration back or a date, like --since')
      .option('--verdict <verdict>', `only sessions with a command decided so: ${VERDICTS.join(', ')}`, oneOf('--verdict', VERDICTS, true))
      .option('--denied', 'only sessions with a denied command (= --verdict DENY)')
      .option('--state <state>', `only sessions in this state: ${STATES.join(', ')} (incomplete: cut off, sealed by the materializer)`, oneOf('--state', STATES))
      .option('--before <cursor|when>', 'only sessions started before: the cursor a previous page printed, or a time like --until', (v) => parseBefore(v))
      .option('--limit <n>', 'at most this many (a line on stderr says when more exist and how to see them)', positiveInt('--limit'), 50)
      .option('--json', 'print the sessions as JSON')
      .addHelpText('after', '\nExamples:\n  chaperone sessions ls --subject ci:deploy-bot --since 1d\n  chaperone sessions ls --connection prod-pg --denied --json\n  chaperone sessions ls --state incomplete\n  chaperone sessions ls --limit 20 --before 1765090000000000   # the next page, as the hint says'),
  ).action(async (opts: LsOpts) => {
    const verdict = opts.denied ? 'DENY' : opts.verdict;
    const bounds = [opts.until ? parseSince(opts.until) : undefined, opts.before].filter((x): x is number => x !== undefined);
    const until = bounds.length ? Math.min(...bounds) : undefined;
    const filter: SessionFilter = {
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.connection ? { connection: opts.connection } : {}),
      ...(opts.since ? { sinceMicros: parseSince(opts.since) } : {}),
      ...(until !== undefined ? { untilMicros: until } : {}),
      ...(verdict ? { verdict } : {}),
      ...(opts.state ? { state: opts.state } : {}),
      // One more than shown tells whether there is a next page.
      limit: Math.min(opts.limit + 1, 100_000),
    };
    const { shown, next } = pageOf(await withApiClient(opts, (c) => c.listSessions(filter)), opts.limit);
    const hint = () => next !== undefined && process.stderr.write(moreHint(shown.length, next));
    if (opts.json) {
      printJson(shown.map(sessionJson));
      hint();
      return;
    }
    printTable(
      shown.map((s) => ({
        SESSION: s.sessionId, 'STARTED (UTC)': when(s.startedMicros), SUBJECT: s.subject, CONNECTION: s.connection, NODE: s.nodeId,
        // An open session's counters are what is recorded so far (the store counts them).
        CMDS: s.counters.commands, DENIED: s.counters.denied, STATE: state(s),
        ...(s.state === 'incomplete' && s.endReason === 'idle-timeout' ? { STATE: 'incomplete (sealed by materializer)' } : {}),
      })),
    );
    hint();
  });
}

/** `chaperone sessions show <id>`: one session's identity, connection, times, counters and seal. */
function registerShow(sessions: Command): void {
  withApi(
    sessions
      .command('show')
      .description('Show one session: identity, connection, node, times, counters and seal')
      .argument('<session-id>')
      .option('--json', 'print the session as JSON'),
  ).action(async (id: string, opts: ApiOptions & { json?: boolean }) => {
    const s = await withApiClient(opts, (c) => c.getSession(id));
    if (opts.json) return printJson(sessionJson(s));
    const c = s.counters;
    const lines = [
      `session     ${s.sessionId} (${state(s)})`,
      `identity    ${s.subject} (issuer ${s.issuer}${s.groups.length ? `, groups ${s.groups.join(', ')}` : ''}${s.tokenId ? `, token ${s.tokenId}` : ''})`,
      `connection  ${s.connection} (${s.protocol}) from ${s.clientAddress}${s.tls ? ' over TLS' : ''}`,
      `node        ${s.nodeId}`,
      `started     ${formatMicros(s.startedMicros)}`,
      `ended       ${s.ended ? `${formatMicros(s.endedMicros)} (${s.endReason}${s.endError ? `: ${s.endError}` : ''})` : '-'}`,
    ];
    // The words replay and verify use: a frame is one recorded Frame event (a forwarded write), a
    // message one protocol message in it; the sealed hash is what the seal signs.
    lines.push(
      `counters    ${c.commands} commands (${c.denied} denied)${s.ended ? '' : ' so far'}`,
      `            ${c.framesIn} frames (${c.messagesIn} messages) / ${c.bytesIn} bytes in, ${c.framesOut} frames (${c.messagesOut} messages) / ${c.bytesOut} bytes out`,
    );
    if (s.ended) lines.push(`seal        ${s.sealed ? `sealed by ${s.sealedBy}` : 'not sealed'}, sealed hash ${s.sealedHash || '-'} (check with \`chaperone verify ${s.sessionId}\`)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

