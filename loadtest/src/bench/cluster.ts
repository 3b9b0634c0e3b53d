/**
 * The cluster benchmark, side by side in one run:
 *   node --conditions=development --import tsx loadtest/src/bench/cluster.ts [--duration 15s] [--clients 16] [--json]
 * 1 gateway node vs 2 behind haproxy (pgbench through haproxy; gateway-2 is stopped for the
 * 1-node run and started again), gateway CPU µs per statement, where the CPU went, Kafka
 * producer throughput, and the cost of one recorded statement split into SQL parse, policy,
 * Avro + hash chain and Kafka (microbenchmarks in-process). See --help.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '@chaperone/config';
import { SessionChain, type ChainedEvent } from '@chaperone/events';
import { KafkaSink, PolicyEngine, initSqlParser, sqlCommand, type PolicyInput } from '@chaperone/gateway';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger } from '@chaperone/observability';
import { Kafka, logLevel } from 'kafkajs';
import { parseDuration } from '../fleet/args.js';
import { cpuBetween, sampleCpu, type CpuUse } from '../fleet/cpu.js';
import { FleetError } from '../fleet/errors.js';
import { deploy, loadStack, run, waitHealthy, type Stack } from '../fleet/stack.js';
import { parsePgbenchOutput } from './pgbench-output.js';
import { statementEvents } from './statement-events.js';

const HELP = `usage: cluster.ts [--duration D] [--clients N] [--skip-cluster] [--skip-micro] [--json]

Side-by-side cluster benchmark on the local stack (deploy/local/up, 2 gateway nodes):
  1 node vs 2 nodes  pgbench (extended protocol, one SELECT per transaction on demo) through
                     haproxy, first with gateway-2 stopped, then with both; TPS ratio, gateway
                     CPU µs per statement (process CPU time of the gateway pids / statements the
                     nodes counted) and where the CPU went (per component, and the machine)
  Kafka producer     KafkaSink.publish from 16 concurrent sessions: statement-sized publishes
                     (3 events: a v2 Query frame, Command, Decision) and bulk ones (100 events),
                     each one Kafka record: events/s, MB/s, CPU µs/event, ms/publish
  per statement      in-process microbenchmarks of what the gateway does per recorded
                     statement: parseSql, PolicyEngine.evaluate, Avro + hash chain of its
                     Frame/Command/Decision events, and their Kafka publish

options:
  --duration D     each pgbench run (default 15s; a 3 s warm-up precedes it)
  --clients N      pgbench clients (default 16)
  --skip-cluster   only the in-process parts (no pgbench, gateway-2 is not stopped)
  --skip-micro     only the cluster part
  --json           all figures as JSON on stdout
  -h, --help       this help

Stopping gateway-2 for the 1-node run disturbs whoever else uses the stack for one run; it is
started again at the end, also after a failure.`;

interface ThroughputRun {
  nodes: number;
  tps: number;
  latencyMs: number;
  statements: number;
  gatewayUsPerStatement: number;
  cpu: CpuUse;
}

async function gatewayStatements(stack: Stack): Promise<number> {
  let n = 0;
  for (const addr of stack.GATEWAY_HTTP_ADDRESSES!.split(',')) {
    const text = await fetch(`http://${addr}/metrics`).then((r) => r.text(), () => '');
    for (const line of text.split('\n')) if (line.startsWith('chaperone_pg_commands_total')) n += Number(line.split(' ').at(-1));
  }
  return n;
}

async function haproxyState(stack: Stack, server: string): Promise<string> {
  const csv = await (await fetch(`${stack.HAPROXY_STATS_URL};csv`)).text();
  return csv.split('\n').find((l) => l.startsWith(`gateways,${server},`))?.split(',')[17] ?? 'missing';
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new FleetError('UNHEALTHY', `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function pgbench(stack: Stack, token: string, subject: string, script: string, clients: number, seconds: number, nodes: number): Promise<ThroughputRun> {
  const conninfo = `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`;
  const args = (s: number) => ['-n', '-M', 'extended', '-c', String(clients), '-j', '2', '-T', String(s), '-f', script, conninfo];
  const env = { ...process.env, PGPASSWORD: token, PGAPPNAME: 'bench-cluster' };
  await run('pgbench', args(3), { env, timeout: 60_000 });
  const s0 = await gatewayStatements(stack);
  const c0 = sampleCpu(stack);
  const r = await run('pgbench', args(seconds), { env, timeout: (seconds + 60) * 1000 });
  const cpu = cpuBetween(c0, sampleCpu(stack));
  const statements = (await gatewayStatements(stack)) - s0;
  if (r.code !== 0) throw new FleetError('FAULT_FAILED', `pgbench failed (${nodes} node(s)): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  const res = parsePgbenchOutput(r.stdout);
  const gw = Object.entries(cpu.byComponent).filter(([k]) => k.startsWith('gateway-')).reduce((s, [, v]) => s + v, 0);
  return { nodes, tps: res.tps, latencyMs: res.latencyMs, statements, gatewayUsPerStatement: statements > 0 ? Math.round((gw * 1000) / statements) : 0, cpu };
}

/** 1 node (gateway-2 stopped, haproxy has taken it out) then 2 nodes; gateway-2 always comes back. */
async function clusterPart(stack: Stack, config: Config, clients: number, seconds: number): Promise<ThroughputRun[]> {
  const subject = `agent:bench-cluster-${randomBytes(3).toString('hex')}`;
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 60 * 60_000 });
  const script = join(mkdtempSync(join(tmpdir(), 'bench-cluster-')), 'select.sql');
  writeFileSync(script, '\\set id random(1, 300)\nSELECT id, full_name, country FROM customers WHERE id = :id;\n');
  await waitHealthy(120_000);
  const out: ThroughputRun[] = [];
  try {
    await deploy('down', ['--only', 'gateway-2']);
    await until('haproxy to take gw-2 out', async () => (await haproxyState(stack, 'gw-2')).startsWith('DOWN'));
    out.push(await pgbench(stack, token, subject, script, clients, seconds, 1));
  } finally {
    await deploy('up', ['--only', 'gateway-2', '--quiet']);
    await until('haproxy to put gw-2 back', async () => (await haproxyState(stack, 'gw-2')) === 'UP', 60_000);
  }
  out.push(await pgbench(stack, token, subject, script, clients, seconds, 2));
  return out;
}

/** Mean CPU and wall time per call, after a warm-up. */
function micro(n: number, fn: (i: number) => unknown): { cpuUs: number; wallUs: number } {
  for (let i = 0; i < Math.min(2000, n); i++) fn(i);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { cpuUs: r((c.user + c.system) / n), wallUs: r(wall / n) };
}

interface KafkaFigures {
  batch: number;
  eventsPerS: number;
  mbPerS: number;
  cpuUsPerEvent: number;
  publishMs: number;
}

/** KafkaSink.publish from `sessions` concurrent sessions, each publishing batches back to back (as a recorder does). */
async function kafkaPart(config: Config, batch: number, sessions = 16, seconds = 5): Promise<KafkaFigures> {
  const topic = `chaperone.bench-cluster.${randomBytes(4).toString('hex')}`;
  const admin = new Kafka({ clientId: 'bench-cluster-admin', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: config.kafka.partitions }], waitForLeaders: true });
  const sink = new KafkaSink({ brokers: config.kafka.brokers, clientId: 'bench-cluster', topic, log: createLogger({ name: 'bench-cluster', level: 'error' }) });
  try {
    await sink.start();
    let events = 0;
    let bytes = 0;
    let publishes = 0;
    let buildUs = 0;
    const c0 = process.cpuUsage();
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: sessions }, async (_, s) => {
        const chain = new SessionChain(`bench-${s}-${randomBytes(4).toString('hex')}`, 'bench');
        for (let i = 1; Date.now() - t0 < seconds * 1000; i++) {
          const evs: ChainedEvent[] = [];
          const b0 = process.hrtime.bigint();
          while (evs.length < batch) evs.push(...statementEvents(chain, `SELECT id, full_name FROM customers WHERE id = ${i}`, i));
          // Building the events is the Avro part, measured on its own: keep it out of Kafka's CPU.
          buildUs += Number(process.hrtime.bigint() - b0) / 1000;
          await sink.publish(chain.sessionId, evs.slice(0, batch));
          events += batch;
          publishes++;
          bytes += evs.slice(0, batch).reduce((n, e) => n + e.body.length, 0);
        }
      }),
    );
    const wallS = (Date.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { batch, eventsPerS: Math.round(events / wallS), mbPerS: Math.round((bytes / wallS / 1e6) * 100) / 100, cpuUsPerEvent: Math.round(((c.user + c.system - buildUs) / events) * 10) / 10, publishMs: Math.round(((wallS * 1000 * sessions) / publishes) * 100) / 100 };
  } finally {
    await sink.stop().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function microPart(config: Config): Promise<Record<string, { cpuUs: number; wallUs: number }>> {
  await initSqlParser();
  const engine = await PolicyEngine.load(config.policy.bundleFile);
  const sql = 'SELECT id, full_name, country FROM customers WHERE id = 42';
  const input = (): PolicyInput => ({
    identity: { subject: 'agent:bench', issuer: 'chaperone', groups: ['agents'], claims: {} },
    connection: { name: 'demo', protocol: 'postgres', labels: { env: 'prod' } },
    session: { id: 'bench', clientAddress: '127.0.0.1:1', node: 'bench' },
    command: sqlCommand(sql),
  });
  const chain = new SessionChain('bench-micro', 'bench');
  const prepared = input();
  return {
    parse: micro(20_000, () => sqlCommand(sql)),
    policy: micro(20_000, () => engine.evaluate(prepared)),
    avro: micro(20_000, (i) => statementEvents(chain, sql, i)),
  };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

function bottleneck(runs: ThroughputRun[]): string {
  const two = runs.find((r) => r.nodes === 2);
  if (!two) return '';
  const parts = Object.entries(two.cpu.byComponent).sort((a, b) => b[1] - a[1]).slice(0, 6);
  const total = two.cpu.wallMs * two.cpu.cores;
  const where = parts.map(([k, v]) => `${k === 'self' ? 'pgbench' : k} ${pct(v / total)}`).join(', ');
  return `${two.cpu.cores} cores ${pct(two.cpu.machineBusy)} busy during the 2-node run (share of all cores: ${where})${two.cpu.machineBusy > 0.85 ? ' — CPU-bound: a second node adds no cores, it only splits the gateway work' : ''}`;
}

async function main(): Promise<number> {
  const spec = { options: { duration: { type: 'string' }, clients: { type: 'string' }, 'skip-cluster': { type: 'boolean' }, 'skip-micro': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } } as const;
  let values: ReturnType<typeof parseArgs<typeof spec>>['values'];
  try {
    values = parseArgs(spec).values;
  } catch (err) {
    throw new FleetError('BAD_ARGS', `${(err as Error).message} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const stack = loadStack();
  const config = loadConfig(stack.CHAPERONE_CONFIG);
  const seconds = Math.round(parseDuration(values.duration ?? '15s') / 1000);
  const clients = Number(values.clients ?? 16);
  const say = (m: string) => process.stderr.write(`cluster bench: ${m}\n`);
  const result: Record<string, unknown> = { date: new Date().toISOString(), machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, clients, seconds };
  const lines: string[] = [`cluster benchmark ${result.date as string} on ${result.machine as string}`];
  if (!values['skip-cluster']) {
    say(`pgbench -c ${clients} for ${seconds} s with 1 node, then 2`);
    const runs = await clusterPart(stack, config, clients, seconds);
    const [one, two] = runs as [ThroughputRun, ThroughputRun];
    result.cluster = { runs, ratio: Math.round((two.tps / one.tps) * 100) / 100, bottleneck: bottleneck(runs) };
    lines.push(`  1 node:  ${one.tps.toFixed(0)} TPS, ${one.latencyMs} ms avg, gateway ${one.gatewayUsPerStatement} µs CPU/statement, machine ${pct(one.cpu.machineBusy)} busy`);
    lines.push(`  2 nodes: ${two.tps.toFixed(0)} TPS, ${two.latencyMs} ms avg, gateway ${two.gatewayUsPerStatement} µs CPU/statement, machine ${pct(two.cpu.machineBusy)} busy`);
    lines.push(`  2 nodes / 1 node = ${(two.tps / one.tps).toFixed(2)}× (target ≥ 1.8× when CPU allows)`, `  ${bottleneck(runs)}`);
  }
  if (!values['skip-micro']) {
    say('microbenchmarks and Kafka producer');
    const m = await microPart(config);
    const small = await kafkaPart(config, 3);
    const bulk = await kafkaPart(config, 100);
    const kafkaPerStatement = small.cpuUsPerEvent * 3;
    const split = { parse: m.parse!.cpuUs, policy: m.policy!.cpuUs, avro: m.avro!.cpuUs, kafka: kafkaPerStatement };
    const total = Object.values(split).reduce((a, b) => a + b, 0);
    result.perStatement = { ...split, totalUs: Math.round(total * 10) / 10, detail: m };
    result.kafka = [small, bulk];
    lines.push(`  per recorded statement (CPU µs): ${Object.entries(split).map(([k, v]) => `${k} ${v.toFixed(1)} (${pct(v / total)})`).join(', ')}; total ${total.toFixed(1)}`);
    for (const k of [small, bulk]) lines.push(`  Kafka producer, batches of ${k.batch}: ${k.eventsPerS} events/s, ${k.mbPerS} MB/s, ${k.cpuUsPerEvent} µs CPU/event, ${k.publishMs} ms/publish`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${lines.join('\n')}\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`cluster bench: ${err instanceof FleetError ? err.message : (err.stack ?? err.message)}\n`);
    process.exitCode = 2;
  },
);
