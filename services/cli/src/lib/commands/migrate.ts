import type { Command } from 'commander';
import { Kafka } from 'kafkajs';
import { kafkaClientOptions } from '@chaperone/events';
import { createStore } from '@chaperone/store';
import type { Config } from '@chaperone/config';
import { configFrom, withConfig } from '../context.js';
import { exitNow } from '../run.js';

interface Options {
  config?: string;
  replicationFactor: string;
  skipKafka?: boolean;
  skipClickhouse?: boolean;
}

/**
 * Registers `chaperone migrate`: the one-off steps a cluster needs before the services start (the
 * Helm chart's Job, the compose file's `migrate` service): the Kafka topics and the ClickHouse schema.
 * Idempotent: an existing topic or an applied migration is left alone.
 */
export function register(program: Command): void {
  withConfig(program.command('migrate'))
    .summary('create the Kafka topics and apply the ClickHouse schema, then exit')
    .description(
      'Create kafka.topic (kafka.partitions partitions) and kafka.cancelTopic (1 partition) when they do not exist, ' +
        'and apply the ClickHouse migrations (schemas/clickhouse) to clickhouse.database. Safe to run again; exits 0 ' +
        'when everything is in place, 1 with one line naming what failed.',
    )
    .option('--replication-factor <n>', 'replication factor of topics it creates (-1: the broker default)', '-1')
    .option('--skip-kafka', 'do not touch Kafka (topics managed elsewhere, e.g. Strimzi KafkaTopic)')
    .option('--skip-clickhouse', 'do not apply the ClickHouse schema')
    .action(async (opts: Options) => {
      const config = configFrom(opts);
      const replicationFactor = Number(opts.replicationFactor);
      try {
        if (!opts.skipKafka) await createTopics(config, replicationFactor);
        if (!opts.skipClickhouse) await migrateClickhouse(config);
      } catch (err) {
        exitNow('migrate', err, undefined, 'failed');
      }
    });
}

async function createTopics(config: Config, replicationFactor: number): Promise<void> {
  const kafka = new Kafka(kafkaClientOptions(config.kafka, { role: 'migrate' }));
  const admin = kafka.admin();
  try {
    await admin.connect().catch((err: Error) => {
      throw new Error(`cannot reach Kafka (${config.kafka.brokers.join(',')}): ${err.message}`, { cause: err });
    });
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: config.kafka.topic, numPartitions: config.kafka.partitions, replicationFactor },
      { topic: config.kafka.cancelTopic, numPartitions: 1, replicationFactor },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await admin.createTopics({ topics: wanted, waitForLeaders: true });
    for (const t of wanted) process.stdout.write(`created topic ${t.topic} (${t.numPartitions} partitions)\n`);
    if (wanted.length === 0) process.stdout.write(`topics ${config.kafka.topic} and ${config.kafka.cancelTopic} exist\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function migrateClickhouse(config: Config): Promise<void> {
  const store = createStore(config.clickhouse);
  try {
    const report = await store.migrate();
    process.stdout.write(`ClickHouse ${report.database}: ${report.applied.length} migration(s) applied\n`);
  } finally {
    await store.close().catch(() => undefined);
  }
}
