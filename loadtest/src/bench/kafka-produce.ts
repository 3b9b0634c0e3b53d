/**
 * CPU per Kafka record of the gateway's produce path (issue #12), measured with
 * process.cpuUsage() so a busy neighbour inflates it far less than wall time: `--sessions`
 * concurrent sessions each publish a record (`--bytes` of value), wait for its acknowledgement
 * and publish again, through the gateway's own KafkaSink (group commit, lanes, idempotent
 * acks=all producers) or through a bare kafkajs producer.send() per record for comparison.
 * Runs on a topic of its own, deleted afterwards.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/kafka-produce.ts [--sessions 1,8,32] [--json]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '@chaperone/config';
import { KafkaSink } from '@chaperone/gateway';
import { createLogger, Registry } from '@chaperone/observability';
import type { ChainedEvent } from '@chaperone/events';
import { repoRoot } from './bench-stack.js';
import { wholeNumbers } from './bulk-options.js';
import { BenchError } from './errors.js';

const HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/kafka-produce.ts [options]

Measures the gateway's Kafka produce path alone: CPU (process.cpuUsage) per record and per
produce request while --sessions concurrent sessions each publish one record, wait for its
acknowledgement (acks=all, idempotent producer) and publish the next. Needs the local stack's
Kafka; uses a topic of its own, deleted afterwards.

Options:
  --sessions <list>   concurrent sessions (default 1,8,32)
  --seconds <n>       duration of each case (default 5)
  --bytes <n>         value size of a record (default 600)
  --producers <list>  KafkaSink lanes (default 1,2)
  --paths <list>      sink (KafkaSink.publish) and/or send (bare producer.send per record) (default sink)
  --rounds <n>        alternate the cases this many times (default 2)
  --config <file>     chaperone config for the brokers (default deploy/local/.run/chaperone.yaml)
  --json              print the figures as JSON on stdout
  -h, --help          this text`;

interface Case {
  path: 'sink' | 'send';
  sessions: number;
  producers: number;
}

interface Result extends Case {
  round: number;
  records: number;
  requests: number;
  cpuUsPerRecord: number;
  cpuUsPerRequest: number;
  /** Share of the CPU spent in the kernel (socket writes and reads). */
  systemShare: number;
  recordsPerRequest: number;
  latencyUsP50: number;
}

function counter(registry: Registry, name: string): Promise<number> {
  return registry.getSingleMetric(name)!.get().then((m) => m.values.reduce((a, v) => a + v.value, 0));
}

async function runCase(c: Case, brokers: string[], topic: string, seconds: number, value: Buffer, round: number): Promise<Result> {
  const registry = new Registry();
  const log = createLogger({ name: 'bench', level: 'error' });
  let publish: (key: string) => Promise<void>;
  let stop: () => Promise<void>;
  let requests: () => Promise<number>;
  const event = { body: value } as unknown as ChainedEvent;
  if (c.path === 'sink') {
    const sink = new KafkaSink({ brokers, clientId: 'bench-produce', topic, log, producers: c.producers, registry });
    await sink.start();
    publish = (key) => sink.publish(key, [event]);
    stop = () => sink.stop();
    requests = () => counter(registry, 'chaperone_kafka_produce_requests_total');
  } else {
    const kafka = new Kafka({ clientId: 'bench-produce', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let n = 0;
    publish = async (key) => {
      n++;
      await producer.send({ topic, acks: -1, messages: [{ key, value }] });
    };
    stop = () => producer.disconnect();
    requests = () => Promise.resolve(n);
  }
  try {
    const keys = Array.from({ length: c.sessions }, () => randomUUID());
    // Warm-up: connections, metadata, JIT.
    const warmEnd = Date.now() + 1000;
    await Promise.all(keys.map(async (k) => { while (Date.now() < warmEnd) await publish(k); }));
    const req0 = await requests();
    const cpu0 = process.cpuUsage();
    const latencies: number[] = [];
    let records = 0;
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      keys.map(async (k) => {
        while (Date.now() < end) {
          const t0 = process.hrtime.bigint();
          await publish(k);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
          records++;
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    const reqs = (await requests()) - req0;
    latencies.sort((a, b) => a - b);
    const cpuUs = cpu.user + cpu.system;
    return { ...c, round, records, requests: reqs, cpuUsPerRecord: cpuUs / records, cpuUsPerRequest: cpuUs / Math.max(1, reqs), systemShare: cpu.system / cpuUs, recordsPerRequest: records / Math.max(1, reqs), latencyUsP50: latencies[latencies.length >> 1] ?? 0 };
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      options: {
        sessions: { type: 'string', default: '1,8,32' },
        seconds: { type: 'string', default: '5' },
        bytes: { type: 'string', default: '600' },
        producers: { type: 'string', default: '1,2' },
        paths: { type: 'string', default: 'sink' },
        rounds: { type: 'string', default: '2' },
        config: { type: 'string', default: `${repoRoot}deploy/local/.run/chaperone.yaml` },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new BenchError('BAD_ARGS', `${(err as Error).message}; see --help`);
  }
  if (v.help) return void process.stdout.write(`${HELP}\n`);
  const list = wholeNumbers;
  const sessions = list('sessions', v.sessions);
  const producers = list('producers', v.producers);
  const [seconds] = list('seconds', v.seconds);
  const [bytes] = list('bytes', v.bytes);
  const [rounds] = list('rounds', v.rounds);
  const paths = v.paths.split(',').map((p) => {
    if (p !== 'sink' && p !== 'send') throw new BenchError('BAD_ARGS', `--paths takes sink and/or send, got "${p}"`);
    return p;
  });
  const cfg = loadConfig(v.config);
  const brokers = cfg.kafka.brokers;
  const kafka = new Kafka({ clientId: 'bench-produce', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = `chaperone.bench-produce.${randomBytes(4).toString('hex')}`;
  await admin.connect();
  const cases: Case[] = [];
  for (const path of paths) for (const s of sessions) for (const p of path === 'sink' ? producers : [1]) cases.push({ path, sessions: s, producers: p });
  const results: Result[] = [];
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: cfg.kafka.partitions }], waitForLeaders: true });
    const value = randomBytes(bytes!);
    for (let r = 1; r <= rounds!; r++) {
      for (const c of cases) {
        const res = await runCase(c, brokers, topic, seconds!, value, r);
        results.push(res);
        process.stderr.write(
          `round ${r} ${c.path} sessions=${c.sessions} producers=${c.producers}: ${res.cpuUsPerRecord.toFixed(0)} µs CPU/record, ${res.cpuUsPerRequest.toFixed(0)} µs/request (${(res.systemShare * 100).toFixed(0)}% system), ${res.recordsPerRequest.toFixed(1)} records/request, ${res.records} records, p50 ${res.latencyUsP50.toFixed(0)} µs (load ${loadavg()[0]!.toFixed(1)})\n`,
        );
      }
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  if (v.json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), loadavg: loadavg(), results })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`kafka-produce: ${err instanceof BenchError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
