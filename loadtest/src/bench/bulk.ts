/**
 * Bulk paths side by side: a plain pg_dump and a ~300 MB result set, direct to PostgreSQL and
 * through Chaperone, with the gateway nodes' memory growth, the recordings verified, and how
 * soon a replay of the big session shows its first row. See --help (bulk-options.ts).
 *
 *   node --conditions=development --import tsx loadtest/src/bench/bulk.ts [--cases pg-dump,big-select] [--json]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { loadConfig, type Config, type PostgresUpstream } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { createStore } from '@chaperone/store';
import { exec, lastLine, loadBenchStack, repoRoot, type Stack } from './bench-stack.js';
import { BULK_HELP, bigSelectSql, parseBulkOptions, type BulkCaseName, type BulkOptions } from './bulk-options.js';
import { RssSampler, gatewayMetrics } from './bulk-probes.js';
import { apiFirstRow, checkRecording, cliFirstRow, type Cli } from './bulk-recording.js';
import { CASE_TITLES, bulkVerdicts, formatBulkReport, type BulkCase, type BulkReport, type ClientRun, type ReplayTiming, type RssGrowth } from './bulk-report.js';
import { BenchError } from './errors.js';

const progress = (line: string): void => void process.stderr.write(`bulk bench: ${line}\n`);

/** How a client reaches one side: a libpq connection string and its password. */
interface Endpoint {
  conninfo: string;
  password: string;
}

/** The client command of a case (program, arguments without the connection string). */
function command(name: BulkCaseName, o: BulkOptions): { program: string; args: string[] } {
  if (name === 'pg-dump') return { program: 'pg_dump', args: ['--format=plain', '--no-password', '--file=/dev/null'] };
  return { program: 'psql', args: ['-X', '--no-password', '-v', 'ON_ERROR_STOP=1', '-c', bigSelectSql(o)] };
}

/** Runs a client with its output to /dev/null and times it from start to exit. */
function timed(program: string, args: string[], e: Endpoint, timeoutMs: number): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(program, [...args, e.conninfo], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PGPASSWORD: e.password }, timeout: timeoutMs });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new BenchError('NO_TOOL', `${program} is not installed: run deploy/local/install (Debian's postgresql-client)`) : err),
    );
    child.once('close', (code, signal) => {
      const ms = performance.now() - t0;
      if (code === 0) return resolve({ ms, exitCode: 0 });
      const why = signal ? `killed by ${signal}${ms >= timeoutMs ? ` after the ${Math.round(timeoutMs / 1000)} s limit` : ''}` : lastLine(stderr);
      resolve({ ms, exitCode: code ?? 128, ...(why ? { error: why } : {}) });
    });
  });
}

/** The sandbox's pgbench tables for pg-dump to have something to dump: created only when there are none. */
async function ensureDumpable(direct: Endpoint, scale: number): Promise<number> {
  const env = { PGPASSWORD: direct.password };
  const has = await exec('psql', ['-XAtc', "SELECT to_regclass('public.pgbench_accounts') IS NOT NULL", direct.conninfo], env, 30_000);
  if (has.code !== 0) throw new BenchError('SETUP_FAILED', `cannot reach the sandbox database directly: ${lastLine(has.stderr)}`);
  if (has.stdout.trim() !== 't') {
    progress(`creating pgbench tables at scale ${scale} in sandbox (pgbench -i, direct) …`);
    const init = await exec('pgbench', ['-i', '-q', '-s', String(scale), direct.conninfo], env, 600_000);
    if (init.code !== 0) throw new BenchError('SETUP_FAILED', `pgbench -i failed: ${lastLine(init.stderr)}`);
  }
  const size = await exec('psql', ['-XAtc', 'SELECT pg_database_size(current_database())', direct.conninfo], env, 30_000);
  return Number(size.stdout.trim());
}

interface Setup {
  stack: Stack;
  config: Config;
  direct: Endpoint;
  /** The Chaperone endpoint of a case: its own subject and token, so its sessions are found by subject. */
  chaperone(name: BulkCaseName): Promise<Endpoint & { subject: string }>;
  cli: Cli;
  issuer: TokenIssuer;
}

async function setup(o: BulkOptions, runId: string): Promise<Setup> {
  const stack = loadBenchStack(o.stack);
  const config = loadConfig(stack.CHAPERONE_CONFIG);
  const sandbox: PostgresUpstream | undefined = config.connections.find((c) => c.name === 'sandbox')?.postgres;
  if (!sandbox) throw new BenchError('NO_STACK', `${config.configFile ?? 'the configuration'} has no PostgreSQL connection "sandbox": deploy/local/up writes one (update the stack)`);
  if (!config.gateway.postgres.tls) throw new BenchError('NO_STACK', 'gateway.postgres.tls is not configured: Chaperone takes tokens only over TLS');
  const app = (name: string) => `application_name=chaperone-bench-bulk-${name}`;
  const issuer = await TokenIssuer.fromConfig(config.identity);
  // A session ends when its token expires: issued just before its run, it outlives the run's limit.
  const ttlMs = Math.min(config.identity.maxTtlMs, o.timeoutMs + 300_000);
  const cli: Cli = { main: stack.CHAPERONE_CLI ?? `${repoRoot}services/cli/dist/main.js`, config: stack.CHAPERONE_CONFIG! };
  return {
    stack,
    config,
    cli,
    issuer,
    direct: { conninfo: `host=${sandbox.host} port=${sandbox.port} dbname=${sandbox.database} user=${sandbox.user} sslmode=disable ${app('direct')}`, password: sandbox.password ?? '' },
    async chaperone(name) {
      const subject = `agent:bench-bulk-${runId}-${name}`;
      const token = await issuer.issue({ subject, groups: ['agents'], ttlMs });
      const tls = `sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`;
      return { subject, password: token, conninfo: `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=sandbox user=${subject} ${tls} ${app(name)}` };
    },
  };
}

interface CaseRun {
  result: BulkCase;
  subject: string;
  startedMs: number;
}

async function runCase(name: BulkCaseName, o: BulkOptions, s: Setup): Promise<CaseRun> {
  const { program, args } = command(name, o);
  const title = CASE_TITLES[name];
  for (let i = 1; i <= o.warmup; i++) {
    progress(`${title}: warm-up ${i}/${o.warmup} (direct) …`);
    await timed(program, args, s.direct, o.timeoutMs);
  }
  progress(`${title}: direct …`);
  const direct = await timed(program, args, s.direct, o.timeoutMs);
  if (direct.exitCode !== 0) throw new BenchError('RUN_FAILED', `${title} failed direct to the upstream (exit ${direct.exitCode}): ${direct.error ?? 'no message'}`);
  const through = await s.chaperone(name);
  const sampler = new RssSampler(gatewayMetrics(s.stack.GATEWAY_HTTP_ADDRESSES));
  await sampler.start();
  const startedMs = Date.now();
  progress(`${title}: through Chaperone …`);
  let chaperone: ClientRun;
  let rss: RssGrowth[];
  try {
    chaperone = await timed(program, args, through, o.timeoutMs);
  } finally {
    rss = await sampler.stop();
  }
  progress(`${title}: direct ${(direct.ms / 1000).toFixed(2)} s, Chaperone ${chaperone.exitCode === 0 ? `${(chaperone.ms / 1000).toFixed(2)} s` : `FAILED: ${chaperone.error ?? chaperone.exitCode}`}`);
  return { result: { name, command: [program, ...args].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' '), direct, chaperone, rss }, subject: through.subject, startedMs };
}

async function replayTiming(s: Setup, sessionId: string): Promise<ReplayTiming> {
  progress(`replay of ${sessionId}: chaperone replay --no-wait to its first row …`);
  const cli = await cliFirstRow(s.cli, sessionId);
  const token = await s.issuer.issue({ subject: 'bench:soc', groups: s.config.api.socGroups, ttlMs: Math.min(s.config.identity.maxTtlMs, 600_000) });
  progress('replay: the API alone to its first event and first DataRow …');
  const api = await apiFirstRow(s.stack.API_ADDRESS!, token, sessionId);
  return { sessionId, ...cli, ...api };
}

async function main(o: BulkOptions): Promise<BulkReport> {
  const s = await setup(o, randomBytes(3).toString('hex'));
  const load = [loadavg()[0]!];
  const databaseBytes = o.cases.includes('pg-dump') ? await ensureDumpable(s.direct, o.scale) : undefined;
  const runs: CaseRun[] = [];
  for (const name of o.cases) runs.push(await runCase(name, o, s));
  load.push(loadavg()[0]!);
  const store = createStore(s.config.clickhouse);
  let replay: ReplayTiming | undefined;
  try {
    // After every timed run, so checking one recording does not load the machine during another run.
    for (const r of runs) {
      progress(`${CASE_TITLES[r.result.name]}: waiting for the recording to be sealed, then chaperone verify …`);
      r.result.recording = await checkRecording(store, s.cli, r.subject, r.startedMs, o.materializeTimeoutMs).catch((err: Error) => ({
        sessions: [],
        error: `cannot read the recording from ClickHouse: ${err.message}`,
      }));
    }
    const big = runs.find((r) => r.result.name === 'big-select')?.result.recording?.sessions[0];
    if (o.replay && big) replay = await replayTiming(s, big.sessionId);
  } finally {
    await store.close();
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, load average ${load[0]!.toFixed(1)} → ${load[1]!.toFixed(1)}`;
  return { date: new Date().toISOString(), machine, ...(databaseBytes !== undefined ? { databaseBytes } : {}), cases: runs.map((r) => r.result), ...(replay ? { replay } : {}) };
}

try {
  const o = parseBulkOptions(process.argv.slice(2), `${repoRoot}deploy/local/.run/stack.json`);
  if (o === 'help') process.stdout.write(`${BULK_HELP}\n`);
  else {
    const report = await main(o);
    process.stdout.write(o.json ? `${JSON.stringify({ ...report, verdicts: bulkVerdicts(report) }, null, 2)}\n` : `${formatBulkReport(report)}\n`);
  }
} catch (err) {
  process.stderr.write(`bulk benchmark: ${err instanceof BenchError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
}
