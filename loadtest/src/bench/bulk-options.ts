import { parseArgs } from 'node:util';
import { parseDuration } from '../fleet/args.js';
import { BenchError } from './errors.js';

/** The bulk paths measured: a plain pg_dump, and one big result set read with psql. */
export type BulkCaseName = 'pg-dump' | 'big-select';
export const BULK_CASES: readonly BulkCaseName[] = ['pg-dump', 'big-select'];

export const BULK_HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/bulk.ts [options]
       npm run bench:bulk -w @chaperone/loadtest -- [options]

Bulk paths side by side, direct to PostgreSQL and through Chaperone (the local stack's haproxy
endpoint, TLS, a fresh agent token as password, the "sandbox" connection as dbname):

  pg-dump      pg_dump --format=plain of the sandbox database to /dev/null (the pgbench tables
               are created there first, directly on the upstream, when it has none)
  big-select   psql -c "SELECT repeat('x',<width>) FROM generate_series(1,<rows>)" to /dev/null
               (~300 MB with the defaults)

For each case: direct time, Chaperone time and their ratio; how much the gateway nodes' resident
memory grew during the Chaperone run (process_resident_memory_bytes on their /metrics, sampled
every 250 ms, max minus before, the node that grew most); and afterwards that the recording is
complete and intact: its session found in ClickHouse by the case's own subject, waited for until
it is sealed with a gap-free chain, then \`chaperone verify\` (the built CLI, exit 0 = intact).
Then \`chaperone replay --no-wait\` of the big-select session is timed to its first result row
(node start included) and killed there, and the API alone to its first event and first DataRow.

Targets: each case ≤ 3× direct; RSS growth ≤ 64 MiB; every recording intact; replay's first row
≤ 1 s. Needs the full local stack (deploy/local/up) and the built CLI (npm run build).

Options:
  --cases <list>          cases to run (default pg-dump,big-select)
  --rows <n>              rows of big-select (default 300000)
  --width <n>             characters per row of big-select (default 1000)
  --scale <n>             pgbench scale of the tables pg-dump creates when sandbox has none (default 10)
  --warmup <n>            untimed direct runs of each case first, to warm caches (default 1)
  --timeout <duration>    limit of each client run (default 10m)
  --materialize-timeout <duration>
                          how long to wait for a recording to be sealed in ClickHouse (default 10m)
  --skip-replay           do not time the replay
  --stack <file>          the stack description (default deploy/local/.run/stack.json)
  --json                  print the figures as JSON on stdout (progress stays on stderr)
  -h, --help              this text`;

export interface BulkOptions {
  cases: BulkCaseName[];
  rows: number;
  width: number;
  scale: number;
  warmup: number;
  timeoutMs: number;
  materializeTimeoutMs: number;
  replay: boolean;
  stack: string;
  json: boolean;
}

const spec = (stack: string) =>
  ({
    options: {
      cases: { type: 'string', default: BULK_CASES.join(',') },
      rows: { type: 'string', default: '300000' },
      width: { type: 'string', default: '1000' },
      scale: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '10m' },
      'materialize-timeout': { type: 'string', default: '10m' },
      'skip-replay': { type: 'boolean', default: false },
      stack: { type: 'string', default: stack },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }) as const;

function wholeNumber(name: string, s: string, min: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min) throw new BenchError('BAD_ARGS', `--${name} takes a whole number ≥ ${min}, got "${s}"`);
  return n;
}

/** A comma-separated list of whole numbers ≥ 1 (`--clients 1,8,32`); a BAD_ARGS BenchError names the option. */
export function wholeNumbers(name: string, s: string): number[] {
  return s.split(',').map((x) => wholeNumber(name, x, 1));
}

function duration(name: string, s: string): number {
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch {
    throw new BenchError('BAD_ARGS', `--${name} takes a duration (e.g. 90s, 10m), got "${s}"`);
  }
  if (ms <= 0) throw new BenchError('BAD_ARGS', `--${name} must be longer than 0, got "${s}"`);
  return ms;
}

function cases(list: string): BulkCaseName[] {
  const names = list.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of names) if (!BULK_CASES.includes(c as BulkCaseName)) throw new BenchError('BAD_ARGS', `--cases takes ${BULK_CASES.join(' and/or ')}, got "${c}"`);
  if (names.length === 0) throw new BenchError('BAD_ARGS', '--cases names no case');
  return BULK_CASES.filter((c) => names.includes(c));
}

/** The options of `argv` (without node and the script), or 'help'; a BAD_ARGS BenchError says what is wrong. */
export function parseBulkOptions(argv: string[], defaultStack: string): BulkOptions | 'help' {
  let v: ReturnType<typeof parseArgs<ReturnType<typeof spec>>>['values'];
  try {
    v = parseArgs({ ...spec(defaultStack), args: argv }).values;
  } catch (err) {
    throw new BenchError('BAD_ARGS', `${(err as Error).message}; see --help`);
  }
  if (v.help) return 'help';
  return {
    cases: cases(v.cases),
    rows: wholeNumber('rows', v.rows, 1),
    width: wholeNumber('width', v.width, 1),
    scale: wholeNumber('scale', v.scale, 1),
    warmup: wholeNumber('warmup', v.warmup, 0),
    timeoutMs: duration('timeout', v.timeout),
    materializeTimeoutMs: duration('materialize-timeout', v['materialize-timeout']),
    replay: !v['skip-replay'],
    stack: v.stack,
    json: v.json,
  };
}

/** The big-select statement. */
export const bigSelectSql = (o: Pick<BulkOptions, 'rows' | 'width'>): string => `SELECT repeat('x',${o.width}) FROM generate_series(1,${o.rows})`;
