/**
 * Gateway CPU per statement (issue #12), A/B: starts an extra gateway node from source beside the
 * local stack (its own ports and node id, the stack's config with a few lines changed per
 * variant), runs `pgbench -S` straight at it, and reads the node's /metrics before and after:
 * process CPU µs per statement and Kafka produce requests per statement. Variants alternate
 * (A, B, A, B…) because the shared machine's load changes from minute to minute.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/gateway-cpu.ts --producers 1,2 --clients 1,8,32 [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { exec, repoRoot } from './bench-stack.js';
import { wholeNumbers } from './bulk-options.js';
import { BenchError } from './errors.js';
import { parsePgbenchOutput } from './pgbench-output.js';

const HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/gateway-cpu.ts [options]

Starts an extra gateway node from source (node id --node-id, its own ports) with the local
stack's configuration, once per variant and round, runs pgbench -S straight at it and prints the
node's CPU per statement and Kafka produce requests per statement (from its /metrics), plus TPS.
Variants alternate (A, B, A, B...). Needs the local stack (Kafka, PostgreSQL with the pgbench
tables of loadtest/src/bench/pgbench.ts in the sandbox database).

Options:
  --producers <list>  kafka.producers of each variant (default 1,2)
  --node-flags <sets> node/V8 flags of each variant, sets separated by ';', flags in a set by
                      spaces; an empty set is node's defaults (e.g. ';--max-semi-space-size=64')
  --clients <list>    pgbench client counts (default 1,8,32)
  --seconds <n>       duration of each pgbench run (default 12)
  --mode <m>          pgbench query mode: simple or extended (default extended)
  --rounds <n>        how many times each variant runs (default 2)
  --config <file>     the stack's configuration (default deploy/local/.run/chaperone.yaml)
  --node-id <id>      the extra node's id (default gw-8)
  --pg-port <n>       its PostgreSQL listener (default 16418)
  --http-port <n>     its /metrics listener (default 19118)
  --proxy-port <n>    its HTTP proxy listener (default 18458)
  --profile <dir>     run the node with --cpu-prof into this folder
  --json              print the figures as JSON on stdout (progress on stderr)
  -h, --help          this text`;

interface Row {
  round: number;
  producers: number;
  /** The node/V8 flags the node ran with ('' for none). */
  nodeFlags: string;
  clients: number;
  statements: number;
  tps: number;
  cpuUsPerStatement: number;
  /** Share of that CPU spent in the kernel (socket reads and writes, TLS excluded). */
  systemShare: number;
  requestsPerStatement: number;
  produceMsMean: number;
  loadavg: number;
}

async function counters(httpAddr: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${httpAddr}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const out: Record<string, number> = {};
  for (const [, name, value] of text.matchAll(/^(chaperone_[a-z_]+)(?:\{[^}]*\})? ([\d.e+-]+)$/gm)) out[name!] = (out[name!] ?? 0) + Number(value);
  return out;
}

/** The stack's config with the extra node added where nodes are listed, and the variant's kafka options. */
function variantConfig(base: string, nodeId: string, proxyPort: number, producers: number): string {
  const lines = readFileSync(base, 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    const listen = /^(\s+)gw-2: 127\.0\.0\.1:\d+$/.exec(line);
    if (listen) out.push(`${listen[1]}${nodeId}: 127.0.0.1:${proxyPort}`);
    const key = /^(\s+)gw-2: (keys\/\S+)$/.exec(line);
    if (key) out.push(`${key[1]}${nodeId}: ${key[2]}`);
    if (line === 'kafka:') out.push(`  producers: ${producers}`);
  }
  const text = out.join('\n');
  if (!text.includes(`${nodeId}: 127.0.0.1:${proxyPort}`) || !text.includes(`  producers: ${producers}`)) throw new BenchError('SETUP_FAILED', `${base} does not look like deploy/local's config (no gw-2 listener or kafka section)`);
  return text;
}

async function startNode(config: string, o: { nodeId: string; pgPort: number; httpPort: number; profile?: string | undefined; flags: string }): Promise<ChildProcess> {
  const args = [...o.flags.split(' ').filter(Boolean), '--conditions=development', '--import', 'tsx'];
  if (o.profile) args.push('--cpu-prof', `--cpu-prof-dir=${o.profile}`);
  args.push(`${repoRoot}services/cli/src/main.ts`, 'gateway', '--config', config, '--node-id', o.nodeId, '--listen', `127.0.0.1:${o.pgPort}`, '--http', `127.0.0.1:${o.httpPort}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: repoRoot });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new BenchError('SETUP_FAILED', `the gateway node exited (${child.exitCode}):\n${stderr}`);
    try {
      await counters(`127.0.0.1:${o.httpPort}`);
      await new Promise<void>((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: o.pgPort }, () => (sock.destroy(), resolve()));
        sock.on('error', reject);
      });
      return child;
    } catch {
      if (Date.now() > deadline) throw new BenchError('SETUP_FAILED', `the gateway node did not serve /metrics and PostgreSQL within 120 s:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function stopNode(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      options: {
        producers: { type: 'string', default: '1,2' },
        'node-flags': { type: 'string', default: '' },
        clients: { type: 'string', default: '1,8,32' },
        seconds: { type: 'string', default: '12' },
        mode: { type: 'string', default: 'extended' },
        rounds: { type: 'string', default: '2' },
        config: { type: 'string', default: `${repoRoot}deploy/local/.run/chaperone.yaml` },
        'node-id': { type: 'string', default: 'gw-8' },
        'pg-port': { type: 'string', default: '16418' },
        'http-port': { type: 'string', default: '19118' },
        'proxy-port': { type: 'string', default: '18458' },
        profile: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new BenchError('BAD_ARGS', `${(err as Error).message}; see --help`);
  }
  if (v.help) return void process.stdout.write(`${HELP}\n`);
  const list = wholeNumbers;
  const producers = list('producers', v.producers);
  const flagSets = v['node-flags'].split(';').map((f) => f.trim());
  for (const f of flagSets) if (f.split(' ').some((x) => x !== '' && !x.startsWith('--'))) throw new BenchError('BAD_ARGS', `--node-flags takes flags that start with --, got "${f}"`);
  const clients = list('clients', v.clients);
  const [seconds] = list('seconds', v.seconds);
  const [rounds] = list('rounds', v.rounds);
  const [pgPort] = list('pg-port', v['pg-port']);
  const [httpPort] = list('http-port', v['http-port']);
  const [proxyPort] = list('proxy-port', v['proxy-port']);
  if (v.mode !== 'simple' && v.mode !== 'extended') throw new BenchError('BAD_ARGS', `--mode takes simple or extended, got "${v.mode}"`);
  const config = loadConfig(v.config);
  const subject = `agent:bench-${randomBytes(3).toString('hex')}`;
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: Math.min(config.identity.maxTtlMs, 3 * 3600_000) });
  const conninfo = `host=127.0.0.1 port=${pgPort} dbname=sandbox user=${subject} sslmode=require application_name=chaperone-bench`;
  const rows: Row[] = [];
  const files: string[] = [];
  try {
    for (let round = 1; round <= rounds!; round++) {
      for (const p of producers) for (const flags of flagSets) {
        const file = join(dirname(v.config), `bench-${v['node-id']}-producers-${p}.yaml`);
        writeFileSync(file, variantConfig(v.config, v['node-id'], proxyPort!, p), { mode: 0o600 });
        files.push(file);
        const node = await startNode(file, { nodeId: v['node-id'], pgPort: pgPort!, httpPort: httpPort!, profile: v.profile, flags });
        try {
          // Warm-up: the first statements compile the hot paths.
          await exec('pgbench', ['-n', '-S', '-M', v.mode, '-c', '4', '-j', '2', '-T', '3', conninfo], { PGPASSWORD: token }, 60_000);
          const idle0 = await counters(`127.0.0.1:${httpPort}`);
          await new Promise((r) => setTimeout(r, 5000));
          const idle1 = await counters(`127.0.0.1:${httpPort}`);
          const idleCpu = ((idle1.chaperone_process_cpu_seconds_total ?? 0) - (idle0.chaperone_process_cpu_seconds_total ?? 0)) / 5;
          const variant = `producers=${p}${flags ? ` ${flags}` : ''}`;
          process.stderr.write(`round ${round} ${variant}: idle node ${(idleCpu * 1e6).toFixed(0)} µs CPU/s\n`);
          for (const c of clients) {
            const before = await counters(`127.0.0.1:${httpPort}`);
            const r = await exec('pgbench', ['-n', '-S', '-M', v.mode, '-c', String(c), '-j', String(Math.min(c, 2)), '-T', String(seconds), conninfo], { PGPASSWORD: token }, (seconds! + 120) * 1000);
            if (r.code !== 0) throw new BenchError('RUN_FAILED', `pgbench failed:\n${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`);
            const after = await counters(`127.0.0.1:${httpPort}`);
            const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
            const out = parsePgbenchOutput(r.stdout);
            const statements = Math.round(out.tps * seconds!);
            const row: Row = {
              round,
              producers: p,
              nodeFlags: flags,
              clients: c,
              statements,
              tps: out.tps,
              cpuUsPerStatement: (d('chaperone_process_cpu_seconds_total') * 1e6) / Math.max(1, statements),
              systemShare: d('chaperone_process_cpu_system_seconds_total') / Math.max(1e-9, d('chaperone_process_cpu_seconds_total')),
              requestsPerStatement: d('chaperone_kafka_produce_requests_total') / Math.max(1, statements),
              produceMsMean: (d('chaperone_kafka_produce_seconds_sum') * 1000) / Math.max(1, d('chaperone_kafka_produce_seconds_count')),
              loadavg: loadavg()[0]!,
            };
            rows.push(row);
            process.stderr.write(
              `round ${round} ${variant} clients=${c}: ${row.cpuUsPerStatement.toFixed(0)} µs CPU/stmt (${(row.systemShare * 100).toFixed(0)}% system), ${row.requestsPerStatement.toFixed(2)} requests/stmt, ${row.tps.toFixed(0)} TPS, produce ${row.produceMsMean.toFixed(2)} ms (load ${row.loadavg.toFixed(1)})\n`,
            );
          }
        } finally {
          await stopNode(node);
        }
      }
    }
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
  if (v.json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), mode: v.mode, seconds, rows })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`gateway-cpu: ${err instanceof BenchError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
