/**
 * Runs the integration suites (`src/*.it.test.ts`) against the running local stack in two lanes:
 *
 * 1. **Alone**, one file at a time: the files that stop, kill or restart parts of the shared
 *    stack, start nodes of their own whose timing they assert, or judge the whole upstream
 *    statement log (see {@link ALONE}). Nothing else runs beside them.
 * 2. **Shared**: everything else. Each of those files works with its own identities, tables and
 *    objects and reads back only what it made, so two of them could share the stack (most of
 *    their time is spent waiting for holds, approvals, the materializer). Run two at a time
 *    (`--concurrency 2`) they took 718 s instead of ~870 s, but two seams showed: a 400 lost
 *    behind haproxy when the gateway closed a refused connection with unread request bytes (an
 *    RST; the refusal now closes lingering, guard.ts), and the MCP loss check asserting before
 *    an approval's outcome was materialized (it now waits for it). With both fixed the shared
 *    lane passed two at a time (457 s instead of ~780 s), and two at a time is the default: it
 *    keeps the whole suite under CI's 30-minute budget. `--concurrency 1` runs them one by one.
 *
 * Usage: run-integration [--concurrency N] [--lane alone|shared] [--only <substring>…]
 *   --concurrency N   files at once in the shared lane (default 2)
 *   --lane L          run one lane only
 *   --only S          run only the files whose name contains S (repeatable)
 * Exits 1 if a lane failed. Both lanes always run, so one failure does not hide another.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files that must run with nothing beside them, and why. */
const ALONE: Record<string, string> = {
  'approvals.it.test.ts': 'stops Temporal and kills the approvals worker',
  'drain.it.test.ts': 'drains and restarts gateway-2',
  'failfast.it.test.ts': 'starts nodes of its own and asserts how fast they turn unready',
  'faults.it.test.ts': 'restarts Kafka, ClickHouse, Temporal, the materializer and a gateway node',
  'soc-exactly-once.it.test.ts': 'kills the materializer during a 100k-event load',
  'postgres-fidelity.it.test.ts': 'its loss check reads every upstream statement of the window',
  'deploy-migrate.it.test.ts': 'runs the ClickHouse migrations against the shared server',
};

type Lane = 'alone' | 'shared';

function parseArgs(argv: string[]): { concurrency: number; only: string[]; lanes: Lane[] } {
  let concurrency = 2;
  let lanes: Lane[] = ['alone', 'shared'];
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: run-integration [--concurrency N] [--lane alone|shared] [--only <substring>]…\n${Object.entries(ALONE).map(([f, why]) => `  alone: ${f} (${why})`).join('\n')}\n`);
      process.exit(0);
    } else if (a === '--concurrency' && /^[1-9]$/.test(argv[i + 1] ?? '')) concurrency = Number(argv[++i]);
    else if (a === '--lane' && (argv[i + 1] === 'alone' || argv[i + 1] === 'shared')) lanes = [argv[++i] as Lane];
    else if (a === '--only' && argv[i + 1]) only.push(argv[++i]!);
    else {
      process.stderr.write(`run-integration: unknown or incomplete argument '${a}' (see --help)\n`);
      process.exit(2);
    }
  }
  return { concurrency, only, lanes };
}

function runLane(name: string, files: string[], concurrency: number, cwd: string): boolean {
  if (files.length === 0) return true;
  process.stdout.write(`\n# lane ${name}: ${files.length} file(s), ${concurrency} at a time\n`);
  const r = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { cwd, stdio: 'inherit' });
  return r.status === 0;
}

const { concurrency, only, lanes } = parseArgs(process.argv.slice(2));
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = readdirSync(join(root, 'src'))
  .filter((f) => f.endsWith('.it.test.ts') && (only.length === 0 || only.some((s) => f.includes(s))))
  .sort();
const alone = all.filter((f) => f in ALONE).map((f) => `src/${f}`);
const shared = all.filter((f) => !(f in ALONE)).map((f) => `src/${f}`);
const ok = [lanes.includes('alone') ? runLane('alone', alone, 1, root) : true, lanes.includes('shared') ? runLane('shared', shared, concurrency, root) : true].every(Boolean);
process.exit(ok ? 0 : 1);
