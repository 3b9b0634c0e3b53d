/**
 * `chaperone migrate`, what the Helm chart's Job and the compose trial run before the services:
 * creates the sessions and cancel topics with the configured partitions, is idempotent, applies
 * the ClickHouse schema, and fails with one line and exit 1 when Kafka cannot be reached.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse as parseYaml, stringify } from 'yaml';
import { loadConfig } from '@chaperone/config';
import { chaperone, loadStack, type Stack } from './lib/stack.js';

interface RawKafka {
  kafka: { brokers: string[]; topic: string; cancelTopic: string; partitions: number };
}

describe('chaperone migrate', { timeout: 120_000 }, () => {
  let stack: Stack;
  const suffix = randomBytes(4).toString('hex');
  const topic = `e2e-migrate-${suffix}.sessions`;
  const cancelTopic = `e2e-migrate-${suffix}.cancels`;
  const files: string[] = [];

  function configWith(change: (c: RawKafka) => void): string {
    const raw = parseYaml(readFileSync(stack.CHAPERONE_CONFIG!, 'utf8')) as RawKafka;
    change(raw);
    const file = join(dirname(stack.CHAPERONE_CONFIG!), `e2e-migrate-${randomBytes(4).toString('hex')}.yaml`);
    writeFileSync(file, stringify(raw), { mode: 0o600 });
    files.push(file);
    return file;
  }

  before(() => {
    stack = loadStack();
  });

  after(async () => {
    for (const f of files) rmSync(f, { force: true });
    const admin = new Kafka({ clientId: 'e2e-migrate', brokers: loadConfig(stack.CHAPERONE_CONFIG).kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, cancelTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates the topics with the configured partitions, then finds them there; applies the ClickHouse schema', async () => {
    const file = configWith((c) => Object.assign(c.kafka, { topic, cancelTopic, partitions: 3 }));
    const first = await chaperone(stack, ['migrate', '--config', file, '--replication-factor', '1']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`created topic ${topic.replaceAll('.', '\\.')} \\(3 partitions\\)`));
    assert.match(first.stdout, /ClickHouse chaperone: \d+ migration\(s\) applied/);
    const admin = new Kafka({ clientId: 'e2e-migrate', brokers: loadConfig(file).kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic, cancelTopic] });
    await admin.disconnect();
    assert.deepEqual(meta.topics.map((t) => [t.name, t.partitions.length]).sort(), [[cancelTopic, 1], [topic, 3]].sort());
    const again = await chaperone(stack, ['migrate', '--config', file, '--skip-clickhouse']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /exist/);
  });

  it('exits 1 with one line when Kafka cannot be reached', async () => {
    const file = configWith((c) => (c.kafka.brokers = ['127.0.0.1:1']));
    const r = await chaperone(stack, ['migrate', '--config', file, '--skip-clickhouse']);
    assert.equal(r.code, 1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^chaperone migrate: failed: cannot reach Kafka \(127\.0\.0\.1:1\): /);
  });
});
