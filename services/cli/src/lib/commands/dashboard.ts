import { InvalidArgumentError, type Command } from 'commander';
import { formatMicros } from '@chaperone/api/client';
import { printJson, printTable } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

const RANGES = ['1h', '24h', '7d'] as const;
type Range = (typeof RANGES)[number];

const range = (v: string): Range => {
  if (!(RANGES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${RANGES.join(', ')}, got "${v}"`);
  return v as Range;
};
const when = (micros: number) => (micros ? formatMicros(micros).slice(0, 19) : '-');
const section = (title: string) => process.stdout.write(`\n${title}\n`);

/** Registers `chaperone dashboard`: the console's dashboard (API Dashboard) as tables. */
export function register(program: Command): void {
  withApi(
    program
      .command('dashboard')
      .summary('activity, top identities and denials, recording lag and health')
      .description(
        'Sessions, commands, denials, approvals and masked values over the last hour, day or week; the top identities and denied commands; how far recording is behind; the health of the services the API reaches (soc, admin) — what the console\'s dashboard shows',
      )
      .option('--range <range>', `how far back: ${RANGES.join(', ')}`, range, '1h')
      .option('--buckets', 'also print the counts per bucket (1 min, 15 min or 2 h)')
      .option('--json', 'print the API\'s answer as JSON')
      .addHelpText('after', '\nExamples:\n  chaperone dashboard\n  chaperone dashboard --range 24h --buckets\n  chaperone dashboard --range 7d --json\n\nExits 1 when a service is failing.'),
  ).action(async (opts: ApiOptions & { range: Range; buckets?: boolean; json?: boolean }) => {
    const d = await withApiClient(opts, (c) => c.dashboard(opts.range));
    if (opts.json) return printJson(d);
    const t = d.totals;
    process.stdout.write(`${when(d.sinceMicros)} – ${when(d.untilMicros)} UTC (last ${d.range})\n`);
    printTable([{ SESSIONS: t.sessions, COMMANDS: t.commands, DENIED: t.denied, APPROVALS: t.approvals, MASKED: t.masked }]);
    if (opts.buckets) {
      section('Per bucket');
      printTable(d.buckets.map((b) => ({ 'START (UTC)': when(b.startMicros), SESSIONS: b.sessions, COMMANDS: b.commands, DENIED: b.denied, APPROVALS: b.approvals, MASKED: b.masked })));
    }
    section('Top identities');
    printTable(d.topIdentities.map((i) => ({ SUBJECT: i.subject, SESSIONS: i.sessions, COMMANDS: i.commands, DENIED: i.denied })));
    section('Top denied commands');
    printTable(d.topDenied.map((x) => ({ COUNT: x.count, IDENTITIES: x.identities, ACTION: x.action, 'LAST (UTC)': when(x.lastMicros), TEXT: x.text.replace(/\s+/g, ' ') })));
    section('Recording');
    const behind = d.newestEventMicros ? `${((d.nowMicros - d.newestEventMicros) / 1e6).toFixed(1)} s ago` : 'no event stored';
    process.stdout.write(`newest event stored  ${when(d.newestEventMicros)} (${behind})\n`);
    process.stdout.write(`materializer lag     ${d.materializerLagKnown ? `${d.materializerLag} records` : 'unknown (its /metrics did not answer)'}\n`);
    section('Services');
    printTable(d.services.map((s) => ({ SERVICE: s.name, STATE: s.ok ? 'healthy' : 'FAILING', DETAIL: s.detail, MS: s.millis, ADDRESS: s.address })));
    if (d.services.some((s) => !s.ok)) process.exitCode = 1;
  });
}
