/**
 * End-to-end recording lag and replay start on the local stack. See HELP (`--help`).
 *
 *   node --conditions=development --import tsx loadtest/src/bench/lag.ts [--rate 20000] [--seconds 15] [--materializers 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createApiClient, startApiServer } from '@chaperone/api';
import { loadConfig, type Config } from '@chaperone/config';
import { SessionChain, messagesFrame, singleFrame } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { Materializer } from '@chaperone/materializer';
import { createLogger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { pgCommandComplete, pgQuery, pgReadyForQuery, throwawayDatabase } from '@chaperone/store/testing';
import { cpuBetween, sampleCpu, type CpuSample } from '../fleet/cpu.js';
import { StatementPublishes, type BenchRecord } from './statement-events.js';

const HELP = `usage: lag.ts [--rate N] [--seconds S] [--sessions N] [--materializers N] [--backlog N]
              [--only lag|replay] [--replay-runs N] [--profile DIR] [--config FILE]

Recording path on the local stack (deploy/local/up --infra-only is enough; the replay part runs
the built CLI, so npm run build first). Uses a Kafka topic, consumer group and ClickHouse
database of its own and removes them afterwards; the stack's own materializer is not involved.

  lag      events published to Kafka at a steady rate (--rate, over --sessions sessions) as the
           gateway publishes them (events v2: one record per publish of a session — a statement's
           Query frame, Command and Decision, then its answer as one frame of RowDescription,
           DataRow, CommandComplete and ReadyForQuery) are materialized by --materializers real
           Materializer processes (one consumer group, the topic's partitions shared), and a
           poller notes when sampled events (the last of each 50 ms send) are visible in
           ClickHouse: publish → visible p50/p99/max, events and records/s, ingest rows/s,
           and the CPU the materializers, ClickHouse and Kafka used (and the whole machine, so a
           busy neighbour shows). With --backlog N, N events are published first with no
           materializer running, and the time to drain them is the ingest capacity.
  replay   a 100k-event session (a Query frame, then its answer as one frame of
           CommandComplete and ReadyForQuery, every two events) is stored, then \`chaperone replay --no-wait\` (a fresh node
           process of the built CLI, through an in-process API) is timed to its first line
           and to the end (--replay-runs times); and the API alone (in-process gRPC client) to
           its first event.

options:
  --rate N            offered events/s (default 20000; about 2 events a record)
  --seconds S         length of the steady load (default 15)
  --sessions N        sessions the load is spread over (default 200)
  --materializers N   materializer processes (default 1)
  --backlog N         events published before the materializers start (default 0: none)
  --only lag|replay   run one part (default both)
  --replay-runs N     replay timings (default 3)
  --profile DIR       run the materializers with --cpu-prof into DIR
  --config FILE       stack configuration (default deploy/local/.run/chaperone.yaml)
  -h, --help          this help`;

const ARGS = {
  options: {
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '15' },
    sessions: { type: 'string', default: '200' },
    materializers: { type: 'string', default: '1' },
    backlog: { type: 'string', default: '0' },
    only: { type: 'string' },
    'replay-runs': { type: 'string', default: '3' },
    profile: { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    // Internal: this file run as one of the materializer processes.
    role: { type: 'string' },
    id: { type: 'string' },
    database: { type: 'string' },
    index: { type: 'string' },
  },
} as const;

// An unknown or malformed option gets a message and the usage (exit 2), not a stack trace.
let args: ReturnType<typeof parseArgs<typeof ARGS>>['values'];
try {
  args = parseArgs(ARGS).values;
} catch (err) {
  process.stderr.write(`lag.ts: ${(err as Error).message}\n${HELP}\n`);
  process.exit(2);
}

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const stackConfig = `${repo}deploy/local/.run/chaperone.yaml`;
const cli = `${repo}services/cli/dist/main.js`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
const ms = (n: number) => `${Math.round(n)} ms`;

function positive(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`lag.ts: --${name} must be a number ≥ ${min}, got "${value}"\n${HELP}\n`);
    process.exit(2);
  }
  return n;
}

/** The benchmark's own topic, group, database and ephemeral ports, on the stack's configuration. */
function benchConfig(id: string, database?: string): { config: Config; dropDatabase: () => Promise<void> } {
  const base = loadConfig(args.config ?? stackConfig);
  const db = database ? { config: { ...base.clickhouse, database }, drop: () => Promise.resolve() } : throwawayDatabase(base.clickhouse, 'chaperone_bench_lag');
  return {
    config: {
      ...base,
      logLevel: 'warn',
      kafka: { ...base.kafka, topic: `chaperone.bench-lag.${id}` },
      clickhouse: db.config,
      materializer: { ...base.materializer, groupId: `chaperone-bench-lag-${id}`, http: { host: '127.0.0.1', port: 0 } },
      api: { ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } },
    },
    dropDatabase: () => db.drop(),
  };
}

/** `--role materializer`: one Materializer in this process until the parent says stop. */
async function materializerProcess(): Promise<void> {
  const { config } = benchConfig(args.id!, args.database);
  const nodeId = `bench-m${args.index ?? '0'}`;
  const m = new Materializer({ config: { ...config, nodeId }, logger: createLogger({ name: 'bench-materializer', level: 'warn', nodeId }), opsServer: false });
  await m.start();
  process.send!({ ready: true });
  process.on('message', (msg: { stop?: boolean }) => {
    if (!msg.stop) return;
    void m
      .stop()
      .then(() => m.registry.metrics())
      .then((text) => process.send!({ metrics: text }, () => process.disconnect()));
  });
}

interface MaterializerProcs {
  pids: number[];
  /** Stops them; resolves to their /metrics texts. */
  stop(): Promise<string[]>;
}

/** Sum and count of a histogram over the materializers' /metrics texts. */
function histogram(texts: string[], name: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const t of texts) {
    sum += Number(/^\S+_sum\{[^}]*\} (\S+)$/m.exec(t.split('\n').filter((l) => l.startsWith(`${name}_sum`)).join('\n'))?.[1] ?? 0);
    count += Number(/^\S+_count\{[^}]*\} (\S+)$/m.exec(t.split('\n').filter((l) => l.startsWith(`${name}_count`)).join('\n'))?.[1] ?? 0);
  }
  return { sum, count };
}

async function startMaterializers(n: number, id: string, database: string): Promise<MaterializerProcs> {
  const children: ChildProcess[] = [];
  const self = fileURLToPath(import.meta.url);
  for (let i = 0; i < n; i++) {
    const prof = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
    const extra = [...(args.config ? ['--config', args.config] : [])];
    const child = spawn(process.execPath, [...prof, ...process.execArgv, self, '--role', 'materializer', '--id', id, '--database', database, '--index', String(i), ...extra], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
  }
  await Promise.all(
    children.map(
      (c, i) =>
        new Promise<void>((resolve, reject) => {
          c.once('message', () => resolve());
          c.once('exit', (code) => reject(new Error(`materializer ${i} exited (${code}) before it was ready`)));
        }),
    ),
  );
  return {
    pids: children.map((c) => c.pid!),
    stop() {
      return Promise.all(
        children.map(
          (c) =>
            new Promise<string>((resolve) => {
              let metrics = '';
              if (c.exitCode !== null) return resolve(metrics);
              c.on('message', (m: { metrics?: string }) => (metrics = m.metrics ?? metrics));
              c.once('exit', () => resolve(metrics));
              c.send({ stop: true });
              setTimeout(() => c.kill('SIGKILL'), 30_000).unref();
            }),
        ),
      );
    },
  };
}

/** Waits until the group has its n members and is not rebalancing, so the load starts on a settled group. */
async function stableGroup(kafka: Kafka, groupId: string, n: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      const { groups } = await admin.describeGroups([groupId]);
      if (groups[0]?.state === 'Stable' && groups[0].members.length === n) return;
    }
    throw new Error(`consumer group ${groupId} did not settle with ${n} members within 60 s`);
  } finally {
    await admin.disconnect();
  }
}

/** CPU ms used so far by these processes (user + system, from /proc). */
function cpuOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // exited
    }
  }
  return total;
}

async function countEvents(store: Store): Promise<number> {
  return Number((await store.query('SELECT count() FROM events', { readonly: true })).rows[0]![0]);
}

/** Publishes `n` events (whole records, so up to two more) before any materializer runs; returns the events sent. */
async function publishBacklog(producer: Producer, topic: string, publishes: StatementPublishes, n: number): Promise<number> {
  let sent = 0;
  while (sent < n) {
    const records = publishes.take(Math.min(2000, n - sent));
    sent += records.reduce((a, r) => a + r.events, 0);
    await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
  }
  return sent;
}

async function lag(config: Config, store: Store, id: string, kafka: Kafka): Promise<void> {
  const rate = positive('rate', args.rate);
  const seconds = positive('seconds', args.seconds);
  const backlog = positive('backlog', args.backlog, 0);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: config.kafka.partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const chains = Array.from({ length: positive('sessions', args.sessions) }, (_, i) => new SessionChain(`lag-${id}-${i}`, 'gw-bench'));
  const publishes = new StatementPublishes(chains);
  const backlogEvents = backlog > 0 ? await publishBacklog(producer, config.kafka.topic, publishes, backlog) : 0;
  const stack = { CHAPERONE_RUN_DIR: `${repo}deploy/local/.run` };
  const idle0 = sampleCpu(stack);
  await sleep(2000);
  const idle = cpuBetween(idle0, sampleCpu(stack));
  const n = positive('materializers', args.materializers);
  const launched = Date.now();
  const procs = await startMaterializers(n, id, config.clickhouse.database);
  await stableGroup(kafka, config.materializer.groupId, n);
  try {
    let drain = '';
    if (backlog > 0) {
      while ((await countEvents(store)) < backlogEvents) await sleep(100);
      const s = (Date.now() - launched) / 1000;
      drain = `  backlog: ${backlogEvents} events stored ${s.toFixed(1)} s after the materializers were launched = ${Math.round(backlogEvents / s)} rows/s (their start and group join included; they used ${Math.round(cpuOf(procs.pids) / 10 / s)}% of a core)\n`;
    }
    const base = await countEvents(store);
    const samples: { sessionId: string; seq: number; sentAt: number; seenAt?: number }[] = [];
    let sent = 0;
    let records = 0;
    let stop = false;
    const poller = (async () => {
      while (!stop || samples.some((s) => s.seenAt === undefined)) {
        const pending = samples.filter((s) => s.seenAt === undefined);
        if (pending.length) {
          const tuples = pending.map((s) => `('${s.sessionId}', ${s.seq})`).join(', ');
          const r = await store.query(`SELECT session_id, seq FROM events WHERE (session_id, seq) IN (${tuples})`, { readonly: true, maxRows: 100_000 });
          const now = Date.now();
          const seen = new Set(r.rows.map((row) => `${row[0]}/${row[1]}`));
          for (const s of pending) if (seen.has(`${s.sessionId}/${s.seq}`)) s.seenAt = now;
        }
        await sleep(25);
      }
    })();
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const cpuStart: CpuSample = sampleCpu(stack);
    const mStart = cpuOf(procs.pids);
    const started = Date.now();
    for (let tick = 0; Date.now() - started < seconds * 1000; tick++) {
      const due = started + tick * tickMs;
      if (due > Date.now()) await sleep(due - Date.now());
      const batch: BenchRecord[] = publishes.take(perTick);
      const last = batch[batch.length - 1]!;
      samples.push({ sessionId: last.key, seq: last.lastSeq, sentAt: Date.now() });
      // Not awaited: a slow acknowledgement must not lower the offered rate.
      void producer
        .send({ topic: config.kafka.topic, acks: -1, messages: batch.map((r) => ({ key: r.key, value: r.value })) })
        .catch((err: Error) => process.stderr.write(`send failed: ${err.message}\n`));
      sent += batch.reduce((a, r) => a + r.events, 0);
      records += batch.length;
    }
    const offeredSeconds = (Date.now() - started) / 1000;
    stop = true;
    await Promise.race([poller, sleep(120_000)]);
    // Every event, not only the samples: partitions may finish at different times.
    let stored = (await countEvents(store)) - base;
    for (const deadline = Date.now() + 120_000; stored < sent && Date.now() < deadline; stored = (await countEvents(store)) - base) await sleep(50);
    const allStoredAt = Date.now();
    const cpu = cpuBetween(cpuStart, sampleCpu(stack));
    const mCpu = cpuOf(procs.pids) - mStart;
    const metrics = await procs.stop();
    const lags = samples.filter((s) => s.seenAt !== undefined).map((s) => s.seenAt! - s.sentAt);
    const wall = (allStoredAt - started) / 1000;
    const pct = (cpuMs: number | undefined) => `${Math.round(((cpuMs ?? 0) / cpu.wallMs) * 100)}%`;
    const batches = histogram(metrics, 'chaperone_materializer_batch_events');
    const inserts = histogram(metrics, 'chaperone_materializer_insert_seconds');
    process.stdout.write(
      drain +
        `lag: offered ${sent} events in ${offeredSeconds.toFixed(1)} s (${Math.round(sent / offeredSeconds)} events/s, target ${rate}) in ${records} records ` +
        `(${Math.round(records / offeredSeconds)} records/s, ${(sent / Math.max(1, records)).toFixed(1)} events each), ${procs.pids.length} materializer(s)\n` +
        `  publish → visible in ClickHouse: p50 ${ms(quantile(lags, 0.5))}, p99 ${ms(quantile(lags, 0.99))}, max ${ms(Math.max(...lags))} (${lags.length} of ${samples.length} samples seen)\n` +
        `  ingest: ${stored} of ${sent} rows stored ${wall.toFixed(1)} s after the start = ${Math.round(stored / wall)} rows/s; ` +
        `${batches.count} inserts (since start, backlog included) of ${Math.round(batches.sum / Math.max(1, batches.count))} events, ${ms((inserts.sum / Math.max(1, inserts.count)) * 1000)} each on average\n` +
        `  CPU (of one core): materializers ${pct(mCpu)}, clickhouse ${pct(cpu.byComponent.clickhouse)}, kafka ${pct(cpu.byComponent.kafka)}, this process ${pct(cpu.byComponent.self)}; ` +
        `machine ${Math.round(cpu.machineBusy * 100)}% busy of ${cpu.cores} cores (${Math.round(idle.machineBusy * 100)}% in the 2 s before the run)\n`,
    );
    if (stored !== sent) process.stdout.write(`  WARNING: ${sent - stored} events missing after 120 s\n`);
  } finally {
    await producer.disconnect();
    await procs.stop();
  }
}

/** A 100k-event session with a query and its answer (one v2 frame) every two events, written straight to the store. */
async function storeReplaySession(store: Store, id: string): Promise<string> {
  const chain = new SessionChain(`replay-${id}`, 'gw-bench');
  const events = [
    chain.append({
      type: 'SessionStarted', connection: 'bench', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: false,
      identity: { subject: 'agent:bench', issuer: 'chaperone', groups: [], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
    }),
  ];
  for (let i = 1; i < 100_000; i++)
    events.push(
      chain.append(
        i % 2
          ? singleFrame('CLIENT_TO_SERVER', 'Query', pgQuery(`SELECT ${i}`))
          : messagesFrame('SERVER_TO_CLIENT', [['CommandComplete', pgCommandComplete('SELECT 1')], ['ReadyForQuery', pgReadyForQuery()]]),
      ),
    );
  for (let i = 0; i < events.length; i += 10_000) await store.insertEvents(events.slice(i, i + 10_000).map((e) => ({ event: e.event, body: e.body })));
  return chain.sessionId;
}

async function replayStart(config: Config, store: Store, id: string): Promise<void> {
  const sessionId = await storeReplaySession(store, id);
  const api = await startApiServer(config, { logger: createLogger({ name: 'bench-api', level: 'warn' }), opsServer: false });
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject: 'bench:soc', groups: config.api.socGroups });
  try {
    const runs = positive('replay-runs', args['replay-runs']);
    for (let run = 1; run <= runs; run++) {
      const client = createApiClient(api.address, { token });
      const t0 = performance.now();
      let first = 0;
      let events = 0;
      for await (const _ of client.replay(sessionId)) if (events++ === 0) first = performance.now() - t0;
      const apiAll = performance.now() - t0;
      client.close();

      const c0 = performance.now();
      const child = spawn(process.execPath, [cli, 'replay', sessionId, '--no-wait', '--api', api.address, '--token', token], { stdio: ['ignore', 'pipe', 'inherit'] });
      let firstLine = 0;
      let lines = 0;
      child.stdout.on('data', (d: Buffer) => {
        firstLine ||= performance.now() - c0;
        for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
      });
      await new Promise((r) => child.once('close', r));
      const cliAll = performance.now() - c0;
      process.stdout.write(
        `replay ${run}/${runs} of a 100k-event session: \`chaperone replay --no-wait\` first line after ${ms(firstLine)} (node start included), ` +
          `all ${lines} lines in ${ms(cliAll)}; API alone (client in this process): first event after ${ms(first)}, all ${events} in ${ms(apiAll)}\n`,
      );
    }
  } finally {
    await api.stop(1000);
  }
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (args.only && args.only !== 'lag' && args.only !== 'replay') {
    process.stderr.write(`lag.ts: --only takes lag or replay, got "${args.only}"\n`);
    process.exit(2);
  }
  const id = randomBytes(4).toString('hex');
  const { config, dropDatabase } = benchConfig(id);
  const kafka = new Kafka({ clientId: 'bench-lag', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const store = createStore(config.clickhouse);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await store.migrate();
    if (args.only !== 'replay') await lag(config, store, id, kafka);
    if (args.only !== 'lag') await replayStart(config, store, id);
  } finally {
    await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
    await admin.deleteGroups([config.materializer.groupId]).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase();
    await store.close();
  }
}

if (args.role === 'materializer') await materializerProcess();
else await main();
