import { randomUUID } from 'node:crypto';
import { ensureTopic, kafkaClientOptions } from '@chaperone/events';
import { Kafka, type Admin, type Consumer, type Producer } from 'kafkajs';
import type { Logger } from '@chaperone/observability';
import { McpToolError } from './errors.js';
import { parseRecord, recordKey, ToolRegistry, type ToolRecord, type ToolView } from './registry.js';

export interface KafkaToolStoreOptions {
  brokers: string[];
  clientId: string;
  /** kafka.mcpToolsTopic. */
  topic: string;
  log: Logger;
}

/** How long `caughtUp` waits for the consumer to reach the topic's end. */
const CATCH_UP_MS = 10_000;

/**
 * The tool registry on a compacted Kafka topic (cleanup.policy=compact: the latest record per
 * key is kept for good, so the topic is the durable store and stays small). Every process that
 * decides or answers on pins (each gateway node, the API) reads the whole topic into a
 * ToolRegistry in its own consumer group (a fresh id, no committed offsets: always from the
 * start) and keeps following it; what one node observes reaches the others within a fetch.
 *
 * Why Kafka and not a ClickHouse table: the gateway already depends on Kafka for every
 * command (record-before-forward) and never on ClickHouse, which is the SOC's read store, fed
 * asynchronously by the materializer; a pin must be readable on the hot path of a tools/list
 * answer on every node, with no query per decision and no new failure mode.
 */
export class KafkaToolStore {
  readonly registry = new ToolRegistry();
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  private readonly consumed = new Map<number, number>();
  private running = false;

  constructor(private readonly opts: KafkaToolStoreOptions) {
    this.kafka = new Kafka(kafkaClientOptions(opts, { role: 'mcp-tools', log: opts.log, retry: 'bounded' }));
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    this.consumer = this.kafka.consumer({ groupId: `${opts.clientId}-mcp-tools-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 3000, maxWaitTimeInMs: 500 });
  }

  /** Creates the topic if needed, connects, and reads what is on it (up to `CATCH_UP_MS`). */
  async start(): Promise<void> {
    await this.ensureTopic();
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const r = parseRecord(message.value);
        if (r) this.registry.apply(r);
        else if (message.value === null && message.key) this.registry.applyTombstone(message.key.toString('utf8'));
        this.consumed.set(partition, Number(message.offset) + 1);
        return Promise.resolve();
      },
    });
    this.running = true;
    await this.caughtUp().catch((err: unknown) => this.opts.log.warn({ err }, 'mcp tool registry: not caught up at start; pins fill in as the topic is read'));
  }

  /** Publishes a record (acks=all) after applying it here. */
  async publish(r: ToolRecord): Promise<void> {
    this.registry.apply(r);
    await this.producer.send({ topic: this.opts.topic, acks: -1, messages: [{ key: recordKey(r), value: JSON.stringify(r) }] });
  }

  /** Every pinned tool (of one server), after reading the topic to its end. */
  async list(server?: string): Promise<ToolView[]> {
    await this.caughtUp();
    return this.registry.list(server);
  }

  /**
   * Accepts a definition of a tool as its new pin (an admin, through the API): by default the
   * one the server shows now; `sha256` names one exactly (what `diff` showed), so a definition
   * that changed again since is not accepted unseen.
   */
  async accept(server: string, tool: string, opts: { sha256?: string; by: string; reason: string }): Promise<ToolView> {
    await this.caughtUp();
    const v = this.registry.view(server, tool);
    if (!v) throw new McpToolError('NOT_FOUND', `no tool ${tool} of the MCP server ${server} in the registry; list them with \`chaperone mcp tools ls\``);
    const sha256 = opts.sha256 || v.current.sha256;
    if (sha256 !== v.current.sha256) throw new McpToolError('FAILED_PRECONDITION', `the tool ${tool} of ${server} is now ${v.current.sha256}, not ${sha256}; run \`chaperone mcp tools diff ${server} ${tool}\` and accept what it shows`);
    await this.publish({ kind: 'accepted', server, tool, sha256, by: opts.by, reason: opts.reason, atMicros: Date.now() * 1000 });
    return this.registry.view(server, tool)!;
  }

  /**
   * Removes a tool from the registry: a tombstone for each of its records, so every node drops
   * it and compaction deletes it (a test's throwaway tools; a server taken out of service). Its
   * next tools/list pins it afresh. Returns how many records were removed.
   */
  async forget(server: string, tool: string): Promise<number> {
    await this.caughtUp();
    const keys = this.registry.recordKeys(server, tool);
    if (keys.length === 0) return 0;
    await this.producer.send({ topic: this.opts.topic, acks: -1, messages: keys.map((key) => ({ key, value: null })) });
    for (const key of keys) this.registry.applyTombstone(key);
    return keys.length;
  }

  /** Resolves once every record on the topic when called has been read (for answers that must see the latest pins). */
  async caughtUp(timeoutMs = CATCH_UP_MS): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(this.opts.topic);
      const deadline = Date.now() + timeoutMs;
      while (!ends.every((e) => Number(e.high) <= (this.consumed.get(e.partition) ?? 0) || Number(e.high) === Number(e.low))) {
        if (Date.now() > deadline) throw new Error(`the MCP tool registry ${this.opts.topic} was not read to its end within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async ensureTopic(): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(admin, this.opts.topic, 'the MCP tool registry topic', [{ name: 'cleanup.policy', value: 'compact' }]);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.consumer.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }
}
