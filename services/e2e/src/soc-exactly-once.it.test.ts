/**
 * Exactly-once projection under a real crash: 100k events, published as records of one to seven
 * events each (one publish of one session per record, as gateways publish), produced into a
 * topic of the test's own while the materializer (the built `chaperone materializer`, a child
 * process) consumes it; the materializer is killed with SIGKILL mid-load and started again, and
 * ClickHouse must then show exactly 100k events — none lost (a record's offset is committed only
 * after ClickHouse accepted all its events, also when an insert boundary splits the record),
 * none doubled (what the restart writes again collapses by (session_id, seq)).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig, type Config } from '@chaperone/config';
import { SessionChain, encodeRecord, singleFrame, type EventBody } from '@chaperone/events';
import { createStore, type Store } from '@chaperone/store';
import { pgQuery, throwawayDatabase } from '@chaperone/store/testing';
import { eventually, loadStack, repoRoot, type Stack } from './lib/stack.js';

const SESSIONS = 100;
const PER_SESSION = 1000;
const TOTAL = SESSIONS * PER_SESSION;
/** Rounds (a record of every session each) per producer send: about 5000 events. */
const ROUNDS_PER_SEND = 12;

const started: EventBody = {
  type: 'SessionStarted', connection: 'load', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: false,
  identity: { subject: 'agent:load', issuer: 'chaperone', groups: [], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
};

/** One session's 1000 events (start, then frames) as Kafka record values of 1 to 7 events. */
function sessionRecords(chain: SessionChain, i: number): Buffer[] {
  const bodies = Array.from({ length: PER_SESSION }, (_, n) =>
    chain.append(n === 0 ? started : singleFrame('CLIENT_TO_SERVER', 'Query', pgQuery(`SELECT ${n}`))).body,
  );
  const records: Buffer[] = [];
  for (let n = 0, k = i; n < bodies.length; k++) {
    const size = 1 + (k % 7);
    records.push(encodeRecord(bodies.slice(n, n + size)));
    n += size;
  }
  return records;
}

/** 100 sessions of 1000 events each, as producer sends of rounds over all sessions, keyed by session. */
function load(id: string): { key: string; value: Buffer }[][] {
  const sessions = Array.from({ length: SESSIONS }, (_, i) => {
    const chain = new SessionChain(`sigkill-${id}-${i}`, 'gw-load');
    return { key: chain.sessionId, records: sessionRecords(chain, i) };
  });
  const rounds: { key: string; value: Buffer }[][] = [];
  for (let r = 0; sessions.some((s) => r < s.records.length); r++)
    rounds.push(sessions.flatMap((s) => (r < s.records.length ? [{ key: s.key, value: s.records[r]! }] : [])));
  const out: { key: string; value: Buffer }[][] = [];
  for (let i = 0; i < rounds.length; i += ROUNDS_PER_SEND) out.push(rounds.slice(i, i + ROUNDS_PER_SEND).flat());
  return out;
}

describe('materializer killed with SIGKILL during a 100k-event load', { timeout: 150_000 }, () => {
  const id = randomBytes(4).toString('hex');
  let stack: Stack;
  let config: Config;
  let db: ReturnType<typeof throwawayDatabase>;
  let store: Store;
  let kafka: Kafka;
  let configFile: string;
  const topic = `chaperone.e2e-sigkill.${id}`;
  const groupId = `chaperone-e2e-sigkill-${id}`;
  const children: ChildProcess[] = [];

  before(async () => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
    db = throwawayDatabase(config.clickhouse, 'chaperone_e2e_sigkill');
    store = createStore(db.config);
    kafka = new Kafka({ clientId: 'e2e-sigkill', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    // JSON is YAML: the stack's settings with a topic, database and group of this test's own.
    configFile = join(mkdtempSync(join(tmpdir(), 'chaperone-sigkill-')), 'chaperone.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        logging: { level: 'warn' },
        identity: { signingKeyFile: config.identity.signingKeyFile },
        recording: { nodeKeyFile: config.recording.nodeKeyFile },
        policy: { bundleFile: config.policy.bundleFile },
        kafka: { brokers: config.kafka.brokers, topic },
        clickhouse: { url: db.config.url, database: db.config.database, username: db.config.username, password: db.config.password },
        materializer: { groupId, http: '127.0.0.1:0', batchSize: 2000, flushInterval: '100ms' },
      }),
    );
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
    await store.close();
  });

  function materializer(): ChildProcess {
    const child = spawn('node', [stack.CHAPERONE_CLI!, 'materializer', '--config', configFile, '--node-id', `sigkill-${id}`], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.resume();
    children.push(child);
    return child;
  }

  const count = async (sql: string) => Number((await store.query(sql, { readonly: true })).rows[0]![0]);

  it('leaves exactly 100k events in ClickHouse', async () => {
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const first = materializer();
    const producing = (async () => {
      for (const messages of load(id)) await producer.send({ topic, acks: -1, messages });
    })();
    // Kill it once a good part is in, while the rest is still being produced and consumed.
    await eventually('a quarter of the load materialized', async () => ((await count('SELECT count() FROM events')) >= TOTAL / 4 ? true : undefined), 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.equal(first.signalCode, 'SIGKILL');
    const atKill = await count('SELECT count() FROM events FINAL');
    assert.ok(atKill < TOTAL, `the kill came before the end (${atKill} of ${TOTAL})`);
    await producing;
    await producer.disconnect();

    const second = materializer();
    await eventually('every event materialized', async () => ((await count('SELECT count() FROM events FINAL')) >= TOTAL ? true : undefined), 90_000);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    assert.equal(await count('SELECT count() FROM events FINAL'), TOTAL);
    assert.equal(await count('SELECT uniqExact(session_id, seq) FROM events'), TOTAL, 'no event lost');
    assert.equal(await count('SELECT count() FROM sessions FINAL'), SESSIONS);
    const written = await count('SELECT count() FROM events');
    process.stderr.write(`# ${atKill} events stored at SIGKILL; ${written - TOTAL} rows written twice and collapsed by FINAL or merges\n`);
  });
});
