/**
 * End-to-end recording lag: frames published to Kafka at a steady rate, materialized into
 * ClickHouse by the real Materializer, and the time until each sampled frame is visible in
 * ClickHouse (p50/p99), plus ingest rows/s; then the time until `chaperone replay` of a
 * 100k-event session starts printing. Uses a topic, consumer group and database of its own on
 * the local stack and removes them afterwards.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/lag.ts [--rate 20000] [--seconds 15]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { startApiServer } from '@chaperone/api';
import { loadConfig, type Config } from '@chaperone/config';
import { SessionChain, encodeEvent, decodeEvent } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { Materializer } from '@chaperone/materializer';
import { createLogger } from '@chaperone/observability';
import { createStore } from '@chaperone/store';
import { pgQuery, throwawayDatabase } from '@chaperone/store/testing';

const { values: args } = parseArgs({
  options: { rate: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '15' }, config: { type: 'string' }, sessions: { type: 'string', default: '200' } },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const stackConfig = fileURLToPath(new URL('../../../deploy/local/.run/chaperone.yaml', import.meta.url));
const cli = fileURLToPath(new URL('../../../services/cli/dist/main.js', import.meta.url));
const base = loadConfig(args.config ?? stackConfig);
const id = randomBytes(4).toString('hex');
const db = throwawayDatabase(base.clickhouse, 'chaperone_bench_lag');
const config: Config = {
  ...base,
  logLevel: 'warn',
  kafka: { ...base.kafka, topic: `chaperone.bench-lag.${id}` },
  clickhouse: db.config,
  materializer: { ...base.materializer, groupId: `chaperone-bench-lag-${id}`, http: { host: '127.0.0.1', port: 0 } },
  api: { ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } },
};
const kafka = new Kafka({ clientId: 'bench-lag', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const store = createStore(db.config);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lag(): Promise<void> {
  await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: config.kafka.partitions }], waitForLeaders: true });
  const m = new Materializer({ config, logger: createLogger({ name: 'bench', level: 'warn' }), opsServer: false });
  await m.start();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const chains = Array.from({ length: Number(args.sessions) }, (_, i) => new SessionChain(`lag-${id}-${i}`, 'gw-bench'));
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const samples: { sessionId: string; seq: number; sentAt: number; seenAt?: number }[] = [];
  let sent = 0;
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
  const started = Date.now();
  for (let tick = 0; Date.now() - started < seconds * 1000; tick++) {
    const due = started + tick * tickMs;
    if (due > Date.now()) await sleep(due - Date.now());
    const messages = [];
    for (let i = 0; i < perTick; i++) {
      const c = chains[(sent + i) % chains.length]!;
      const e = c.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'DataRow', bytes: pgQuery(`row ${sent + i}`), redacted: false, masks: [] });
      messages.push({ key: c.sessionId, value: encodeEvent(e.event) });
    }
    const last = decodeEvent(messages.at(-1)!.value).event;
    samples.push({ sessionId: last.sessionId, seq: last.seq, sentAt: Date.now() });
    // Not awaited: a slow acknowledgement must not lower the offered rate.
    void producer.send({ topic: config.kafka.topic, acks: -1, messages }).catch((err: Error) => process.stderr.write(`send failed: ${err.message}\n`));
    sent += perTick;
  }
  const offeredSeconds = (Date.now() - started) / 1000;
  stop = true;
  await Promise.race([poller, sleep(60_000)]);
  const lags = samples.filter((s) => s.seenAt !== undefined).map((s) => s.seenAt! - s.sentAt);
  const lastSeen = Math.max(...samples.map((s) => s.seenAt ?? 0));
  await producer.disconnect();
  await m.stop();
  const stored = Number((await store.query('SELECT count() FROM events', { readonly: true })).rows[0]![0]);
  process.stdout.write(
    `lag: offered ${sent} events in ${offeredSeconds.toFixed(1)} s (${Math.round(sent / offeredSeconds)} events/s, target ${rate})\n` +
      `  publish → visible in ClickHouse: p50 ${quantile(lags, 0.5)} ms, p99 ${quantile(lags, 0.99)} ms, max ${Math.max(...lags)} ms (${lags.length} samples)\n` +
      `  ingest: ${stored} rows in ${((lastSeen - started) / 1000).toFixed(1)} s = ${Math.round(stored / ((lastSeen - started) / 1000))} rows/s\n`,
  );
}

async function replayStart(): Promise<void> {
  const chain = new SessionChain(`replay-${id}`, 'gw-bench');
  const events = [chain.append({
    type: 'SessionStarted', connection: 'bench', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: false,
    identity: { subject: 'agent:bench', issuer: 'chaperone', groups: [], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
  })];
  for (let i = 1; i < 100_000; i++)
    events.push(chain.append({ type: 'Frame', direction: i % 2 ? 'CLIENT_TO_SERVER' : 'SERVER_TO_CLIENT', messageType: i % 2 ? 'Query' : 'CommandComplete', bytes: pgQuery(`SELECT ${i}`), redacted: false, masks: [] }));
  for (let i = 0; i < events.length; i += 10_000) await store.insertEvents(events.slice(i, i + 10_000).map((e) => ({ event: e.event, body: e.body })));
  const api = await startApiServer(config, { logger: createLogger({ name: 'bench-api', level: 'warn' }), opsServer: false });
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject: 'bench:soc', groups: config.api.socGroups });
  try {
    const t0 = Date.now();
    const child = spawn('node', [cli, 'replay', chain.sessionId, '--no-wait', '--api', api.address, '--token', token], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<number>((resolve) => child.stdout.once('data', () => resolve(Date.now() - t0)));
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => (lines += d.toString().split('\n').length - 1));
    await new Promise((r) => child.once('exit', r));
    process.stdout.write(`replay: a 100k-event session starts printing after ${first} ms (process start included); all of it in ${Date.now() - t0} ms, ${lines} lines\n`);
  } finally {
    await api.stop(1000);
  }
}

try {
  await admin.connect();
  await store.migrate();
  await lag();
  await replayStart();
} finally {
  await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
  await admin.deleteGroups([config.materializer.groupId]).catch(() => undefined);
  await admin.disconnect();
  await db.drop();
  await store.close();
}
