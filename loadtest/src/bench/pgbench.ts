/**
 * PostgreSQL side by side (issue #3): `pgbench -S` (select only) in simple and extended query
 * mode at 1, 8 and 32 clients, direct to the upstream, through a PgBouncer of its own and
 * through Chaperone (haproxy → gateway nodes, recording on), all in one run; prints TPS and
 * average latency per case, Chaperone/PgBouncer TPS and the latency added per statement.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/pgbench.ts [--clients 1,8,32] [--seconds 10] [--json]
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, type PostgresUpstream } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { exec, loadBenchStack, repoRoot, type Stack } from './bench-stack.js';
import { BenchError } from './errors.js';
import { kafkaAckFloor } from './kafka-floor.js';
import { parsePgbenchOutput } from './pgbench-output.js';
import { TARGETS, compare, formatTable, verdicts, type BenchCase, type QueryMode, type Target } from './pgbench-report.js';
import { startPgBouncer, type PgBouncer } from './pgbouncer.js';

const HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/pgbench.ts [options]

Runs pgbench -S (select only) in simple and extended query mode, direct to PostgreSQL, through
a PgBouncer it starts itself (transaction pooling, TLS towards clients) and through Chaperone
(the local stack's haproxy endpoint, two gateway nodes, recording on), and prints TPS, average
latency, Chaperone/PgBouncer TPS and the latency added per statement over going direct.
Needs the full local stack (deploy/local/up) and its "sandbox" connection; creates the pgbench
tables there (pgbench -i, directly on the upstream) unless they exist at the asked scale.

Options:
  --clients <list>   client counts (default 1,8,32)
  --seconds <n>      duration of each run (default 10)
  --modes <list>     query modes (default simple,extended)
  --scale <n>        pgbench scale factor of the tables (default 10)
  --warmup <n>       seconds of warm-up per target before measuring (default 2)
  --stack <file>     the stack description (default deploy/local/.run/stack.json)
  --json             print the figures as JSON on stdout (progress stays on stderr)
  -h, --help         this text`;

const APP = 'chaperone-bench';

interface Options {
  clients: number[];
  seconds: number;
  modes: QueryMode[];
  scale: number;
  warmup: number;
  stack: string;
  json: boolean;
}

const parse = () =>
  parseArgs({
    options: {
      clients: { type: 'string', default: '1,8,32' },
      seconds: { type: 'string', default: '10' },
      modes: { type: 'string', default: 'simple,extended' },
      scale: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      stack: { type: 'string', default: `${repoRoot}deploy/local/.run/stack.json` },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

function options(): Options | undefined {
  let v: ReturnType<typeof parse>['values'];
  try {
    v = parse().values;
  } catch (err) {
    throw new BenchError('BAD_ARGS', `${(err as Error).message}; see --help`);
  }
  if (v.help) return void process.stdout.write(`${HELP}\n`);
  const positive = (name: string, s: string) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new BenchError('BAD_ARGS', `--${name} takes a whole number, got "${s}"`);
    return n;
  };
  const modes = v.modes.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'simple' && m !== 'extended') throw new BenchError('BAD_ARGS', `--modes takes simple and/or extended, got "${m}"`);
  const clients = v.clients.split(',').map((c) => positive('clients', c.trim()));
  if (clients.some((c) => c === 0)) throw new BenchError('BAD_ARGS', '--clients: every count must be at least 1');
  return { clients, seconds: positive('seconds', v.seconds), modes: modes as QueryMode[], scale: positive('scale', v.scale), warmup: positive('warmup', v.warmup), stack: v.stack, json: v.json };
}

const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/** libpq connection strings and passwords per target. */
interface Endpoint {
  conninfo: string;
  password: string;
}

async function ensureTables(direct: Endpoint, scale: number): Promise<void> {
  const env = { PGPASSWORD: direct.password };
  const r = await exec('psql', [direct.conninfo, '-XAtc', 'SELECT count(*) FROM pgbench_branches'], env, 30_000);
  if (r.code === 0 && Number(r.stdout.trim()) === scale) return progress(`pgbench tables at scale ${scale} already in sandbox`);
  progress(`initialising pgbench tables at scale ${scale} in sandbox (pgbench -i, direct) …`);
  const init = await exec('pgbench', ['-i', '-q', '-s', String(scale), direct.conninfo], env, 600_000);
  if (init.code !== 0) throw new BenchError('SETUP_FAILED', `pgbench -i failed:\n${init.stderr.trim().split('\n').slice(-8).join('\n')}`);
}

async function pgbench(target: Target, e: Endpoint, mode: QueryMode, clients: number, seconds: number) {
  const args = ['-n', '-S', '-M', mode, '-c', String(clients), '-j', String(Math.min(clients, cpus().length)), '-T', String(seconds), e.conninfo];
  const r = await exec('pgbench', args, { PGPASSWORD: e.password }, (seconds + 120) * 1000);
  if (r.code !== 0)
    throw new BenchError('RUN_FAILED', `${target}: pgbench ${args.slice(0, -1).join(' ')} failed (is the stack healthy? deploy/local/status):\n${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`);
  return parsePgbenchOutput(r.stdout);
}

/** Counters of the gateway nodes: their record-wait histogram (time client messages waited for Kafka's ack) and CPU time. */
interface GatewayCounters {
  waitSum: number;
  waitCount: number;
  cpuSeconds: number;
  /** The Kafka sink's produce requests: their total duration and count (chaperone_kafka_produce_seconds). */
  produceSum: number;
  produceCount: number;
}

async function gatewayCounters(stack: Stack): Promise<GatewayCounters | undefined> {
  const c: GatewayCounters = { waitSum: 0, waitCount: 0, cpuSeconds: 0, produceSum: 0, produceCount: 0 };
  try {
    for (const addr of (stack.GATEWAY_HTTP_ADDRESSES ?? '').split(',').filter(Boolean)) {
      const text = await (await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const metric = /^chaperone_(pg_record_wait_seconds_sum|pg_record_wait_seconds_count|process_cpu_seconds_total|kafka_produce_seconds_sum|kafka_produce_seconds_count)(?:\{[^}]*\})? ([\d.e+-]+)$/gm;
      for (const [, name, value] of text.matchAll(metric)) {
        if (name === 'pg_record_wait_seconds_sum') c.waitSum += Number(value);
        else if (name === 'pg_record_wait_seconds_count') c.waitCount += Number(value);
        else if (name === 'kafka_produce_seconds_sum') c.produceSum += Number(value);
        else if (name === 'kafka_produce_seconds_count') c.produceCount += Number(value);
        else c.cpuSeconds += Number(value);
      }
    }
  } catch {
    return undefined;
  }
  return c;
}

async function main(o: Options): Promise<void> {
  const stack = loadBenchStack(o.stack);
  const config = loadConfig(stack.CHAPERONE_CONFIG);
  const sandbox: PostgresUpstream | undefined = config.connections.find((c) => c.name === 'sandbox')?.postgres;
  if (!sandbox) throw new BenchError('NO_STACK', `${config.configFile ?? 'the configuration'} has no PostgreSQL connection "sandbox": deploy/local/up writes one (update the stack)`);
  if (!config.gateway.postgres.tls) throw new BenchError('NO_STACK', 'gateway.postgres.tls is not configured: Chaperone takes tokens only over TLS');
  const runs = o.modes.length * o.clients.length * TARGETS.length;
  const subject = `agent:bench-${randomBytes(3).toString('hex')}`;
  const ttlMs = Math.min(config.identity.maxTtlMs, (runs * (o.seconds + 30) + TARGETS.length * o.warmup + 900) * 1000);
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs });
  const password = sandbox.password ?? '';
  const tls = `sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`;
  const direct: Endpoint = { conninfo: `host=${sandbox.host} port=${sandbox.port} dbname=${sandbox.database} user=${sandbox.user} sslmode=disable application_name=${APP}`, password };
  await ensureTables(direct, o.scale);
  const bouncer: PgBouncer = await startPgBouncer({ upstream: { ...sandbox, password }, poolSize: Math.max(...o.clients), tls: config.gateway.postgres.tls });
  const endpoints: Record<Target, Endpoint> = {
    direct,
    pgbouncer: { conninfo: `host=127.0.0.1 port=${bouncer.port} dbname=${sandbox.database} user=${sandbox.user} ${tls} application_name=${APP}`, password },
    chaperone: { conninfo: `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=sandbox user=${subject} ${tls} application_name=${APP}`, password: token },
  };
  const load = [loadavg()[0]!];
  const cases: BenchCase[] = [];
  try {
    if (o.warmup > 0) for (const t of TARGETS) await pgbench(t, endpoints[t], 'simple', 1, o.warmup);
    let n = 0;
    for (const mode of o.modes)
      for (const clients of o.clients)
        for (const target of TARGETS) {
          const before = target === 'chaperone' ? await gatewayCounters(stack) : undefined;
          const r = await pgbench(target, endpoints[target], mode, clients, o.seconds);
          const after = before && (await gatewayCounters(stack));
          const gw: Pick<BenchCase, 'recordWaitUs' | 'gatewayCpuUs' | 'produceUs' | 'producesPerStatement'> =
            before && after && after.waitCount > before.waitCount
              ? {
                  recordWaitUs: ((after.waitSum - before.waitSum) / (after.waitCount - before.waitCount)) * 1e6,
                  gatewayCpuUs: ((after.cpuSeconds - before.cpuSeconds) / r.transactions) * 1e6,
                  ...(after.produceCount > before.produceCount
                    ? {
                        produceUs: ((after.produceSum - before.produceSum) / (after.produceCount - before.produceCount)) * 1e6,
                        producesPerStatement: (after.produceCount - before.produceCount) / r.transactions,
                      }
                    : {}),
                }
              : {};
          cases.push({ target, mode, clients, ...r, ...gw });
          progress(
            `[${++n}/${runs}] ${target.padEnd(9)} ${mode.padEnd(8)} ${String(clients).padStart(3)} clients: ${r.tps.toFixed(0).padStart(6)} tps, ${r.latencyMs.toFixed(3)} ms` +
              `${gw.recordWaitUs !== undefined ? `, ack wait ${gw.recordWaitUs.toFixed(0)} µs, gateway CPU ${gw.gatewayCpuUs?.toFixed(0) ?? '?'} µs/stmt` : ''}` +
              `${gw.produceUs !== undefined ? `, produce request ${gw.produceUs.toFixed(0)} µs, ${gw.producesPerStatement?.toFixed(2)} requests/stmt` : ''}` +
              `${r.failed ? `, ${r.failed} FAILED transactions` : ''}`,
          );
        }
  } finally {
    await bouncer.stop();
  }
  progress('measuring the Kafka acknowledgement round trip (acks=all, idempotent, one message) …');
  const kafkaAck = await kafkaAckFloor(config.kafka.brokers);
  load.push(loadavg()[0]!);
  const comparisons = compare(cases);
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, load average ${load[0]!.toFixed(1)} → ${load[1]!.toFixed(1)}`;
  const date = new Date().toISOString();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ date, machine, seconds: o.seconds, scale: o.scale, cases, comparisons, kafkaAck, verdicts: verdicts(comparisons, kafkaAck.p50Us) }, null, 2)}\n`);
    return;
  }
  const floor =
    `Kafka acknowledgement round trip (what record-before-forward waits for): p50 ${kafkaAck.p50Us.toFixed(0)} µs, mean ${kafkaAck.meanUs.toFixed(0)} µs; ` +
    '"ack wait" is the gateways\' mean wait per client message for it (chaperone_pg_record_wait_seconds), "cpu" their CPU time per statement, ' +
    '"produce" the mean duration of their produce requests and how many they sent per statement (chaperone_kafka_produce_seconds; sessions\' ' +
    'publishes are merged into shared requests) — all from the nodes\' /metrics, so other traffic on them counts too.';
  process.stdout.write(`pgbench -S, ${o.seconds} s per case, scale ${o.scale}; ${date}; ${machine}\n\n${formatTable(cases, comparisons)}\n\n${floor}\n${verdicts(comparisons, kafkaAck.p50Us).join('\n')}\n`);
}

try {
  const o = options();
  if (o) await main(o);
} catch (err) {
  process.stderr.write(`pgbench benchmark: ${err instanceof BenchError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
}
