/**
 * Exactly-once projection under a real crash: 100k events produced into a topic of the test's
 * own while the materializer (the built `chaperone materializer`, a child process) consumes it;
 * the materializer is killed with SIGKILL mid-load and started again, and ClickHouse must then
 * show exactly 100k events — none lost (offsets are committed only after ClickHouse accepted a
 * batch), none doubled (what the restart writes again collapses by (session_id, seq)).
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
import { SessionChain, encodeEvent } from '@chaperone/events';
import { createStore, type Store } from '@chaperone/store';
import { pgQuery, throwawayDatabase } from '@chaperone/store/testing';
import { eventually, loadStack, repoRoot, type Stack } from './lib/stack.js';

const SESSIONS = 100;
const PER_SESSION = 1000;
const TOTAL = SESSIONS * PER_SESSION;

/** 100 sessions of 1000 events each (start, then frames), as Kafka messages keyed by session. */
function load(id: string): { key: string; value: Buffer }[][] {
  const batches: { key: string; value: Buffer }[][] = [];
  const chains = Array.from({ length: SESSIONS }, (_, i) => new SessionChain(`sigkill-${id}-${i}`, 'gw-load'));
  for (let n = 0; n < PER_SESSION; n++) {
    const batch = chains.map((c) => {
      const e =
        n === 0
          ? c.append({
              type: 'SessionStarted', connection: 'load', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: false,
              identity: { subject: 'agent:load', issuer: 'chaperone', groups: [], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
            })
          : c.append({ type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: 'Query', bytes: pgQuery(`SELECT ${n}`), redacted: false, masks: [] });
      return { key: c.sessionId, value: encodeEvent(e.event) };
    });
    batches.push(batch);
  }
  // Sends of 5000 messages: 50 rounds over all sessions.
  const out: { key: string; value: Buffer }[][] = [];
  for (let i = 0; i < batches.length; i += 50) out.push(batches.slice(i, i + 50).flat());
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
