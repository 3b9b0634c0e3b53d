import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import type { Config } from '@chaperone/config';
import { EventDecodeError, decodeRecord, kafkaClientOptions, kafkaRequestQueue, loadPrivateKey } from '@chaperone/events';
import { Lifecycle, createLogger, createRegistry, startOpsServer, type Logger, type Registry, type State, errorMessage } from '@chaperone/observability';
import { createStore, type DecodedEvent, type Store } from '@chaperone/store';
import { chunkRecords, type Chunk } from './chunks.js';
import { MaterializerError, NoLongerOurs } from './errors.js';
import { InsertBatcher } from './insert-batcher.js';
import { createMetrics, type Metrics } from './metrics.js';
import { IdleSealer } from './sealer.js';

export interface MaterializerOptions {
  config: Config;
  logger?: Logger;
  registry?: Registry;
  /** The store to write to. @default createStore(config.clickhouse) */
  store?: Store;
  /** Serve /healthz and /metrics on config.materializer.http. @default true */
  opsServer?: boolean;
  /** How often idle sessions are looked for. @default a quarter of idleTimeout, between 250 ms and 30 s */
  sealSweepMs?: number;
}

const MAX_BACKOFF_MS = 5_000;
/**
 * The broker holds a fetch until it has this much for us or materializer.flushInterval passed:
 * under load a fetch (and so an insert) carries a few thousand events instead of a few hundred,
 * and light traffic still leaves within flushInterval.
 */
const FETCH_MIN_BYTES = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long a partition held at a record of an unknown schema waits before it is fetched again. */
const HELD_RETRY_MS = 30_000;
/** decode()'s answer for a record written with a schema this build does not know. */
const NEWER_SCHEMA = Symbol('newer schema');


/**
 * Consumes `chaperone.sessions.v1` in a consumer group and writes every event into ClickHouse. A
 * Kafka record is one publish of one session, several events. A record's offset is committed only
 * after ClickHouse accepted all its events (at-least-once); the tables collapse what a
 * redelivery writes twice, so the projection is exactly-once as seen by queries.
 */
export class Materializer {
  readonly lifecycle = new Lifecycle('materializer');
  readonly registry: Registry;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly store: Store;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly inserts: InsertBatcher<DecodedEvent, EachBatchPayload>;
  private assigned: number[] = [];
  private sealer: IdleSealer | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private ops: Server | undefined;
  private clickhouseOk = true;
  /**
   * Partitions held at a record written with an unknown schema (a newer gateway): why, per
   * partition. Nothing past that record is read or committed until a build that knows the
   * schema runs, so a rolling upgrade that reaches the gateways first loses nothing.
   */
  private readonly held = new Map<number, string>();
  private clickhouseDetail = '';
  private kafkaOk = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: MaterializerOptions) {
    const c = opts.config;
    this.log = opts.logger ?? createLogger({ name: 'materializer', level: c.logLevel, nodeId: c.nodeId });
    this.registry = opts.registry ?? createRegistry({ service: 'materializer' });
    this.metrics = createMetrics(this.registry);
    this.store = opts.store ?? createStore(c.clickhouse);
    const kafka = new Kafka(
      kafkaClientOptions(c.kafka, { role: 'materializer', log: this.log, level: c.logLevel === 'debug' || c.logLevel === 'trace' ? logLevel.INFO : logLevel.WARN }),
    );
    this.consumer = kafka.consumer({
      groupId: c.materializer.groupId,
      minBytes: FETCH_MIN_BYTES,
      maxWaitTimeInMs: c.materializer.flushIntervalMs,
    });
    this.inserts = new InsertBatcher({
      maxItems: c.materializer.batchSize,
      write: (events, payloads) => this.insertWithRetry(events, payloads),
      // Every payload commits the consumer's resolved offsets, of all partitions.
      commit: (payloads) => payloads[0]!.commitOffsetsIfNecessary(payloads[0]!.uncommittedOffsets()),
    });
    this.admin = kafka.admin();
    const { CONNECT, DISCONNECT, CRASH, GROUP_JOIN } = this.consumer.events;
    this.consumer.on(CONNECT, () => (this.kafkaOk = true));
    this.consumer.on(GROUP_JOIN, (e) => {
      this.kafkaOk = true;
      this.assigned = e.payload.memberAssignment[c.kafka.topic] ?? [];
    });
    this.consumer.on(DISCONNECT, () => (this.kafkaOk = false));
    this.consumer.on(CRASH, (e) => {
      this.kafkaOk = false;
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'Kafka consumer crashed');
      if (!e.payload.restart && this.lifecycle.state === 'running') this.fail(new MaterializerError('CONSUMER_CRASHED', e.payload.error.message));
    });
  }

  get state(): State {
    return this.lifecycle.state;
  }

  /** Address of the ops server (for tests that bind port 0). */
  get opsAddress(): AddressInfo | undefined {
    return (this.ops?.address() as AddressInfo | null) ?? undefined;
  }

  /** Runs migrations, joins the consumer group and starts consuming; resolves once running. */
  async start(): Promise<void> {
    const c = this.opts.config;
    try {
      if (this.opts.opsServer !== false)
        this.ops = await startOpsServer({ ...c.materializer.http, registry: this.registry, lifecycle: this.lifecycle, checks: () => this.checks() });
      const report = await this.store.migrate();
      this.log.info({ database: report.database, applied: report.applied }, 'ClickHouse schema ready');
      await this.enforceRetention();
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [c.kafka.topic], fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition of a fetch is handled at once, so InsertBatcher can make one insert of them.
        partitionsConsumedConcurrently: Math.max(1, c.kafka.partitions),
        eachBatch: (p) => this.eachBatch(p),
      });
      await this.startSealer();
    } catch (err) {
      this.fail(err);
      await this.close();
      throw new MaterializerError('START_FAILED', `materializer cannot start: ${errorMessage(err)}`, { cause: err });
    }
    this.lifecycle.to('running');
    this.log.info({ topic: c.kafka.topic, groupId: c.materializer.groupId, store: this.store.describe, kafkaRequestQueue }, 'materializer running');
  }

  /** Finishes the batch in flight, commits, leaves the group. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.lifecycle.state === 'running') this.lifecycle.to('draining');
      await this.close();
      if (this.lifecycle.state !== 'failed' && this.lifecycle.state !== 'stopped') this.lifecycle.to('stopped');
      this.log.info('materializer stopped');
    })();
    return this.stopping;
  }

  /** Incomplete-session sealing; without a readable key it stays off, said loudly, and the rest runs. */
  private async startSealer(): Promise<void> {
    const c = this.opts.config;
    let key;
    try {
      key = loadPrivateKey(c.materializer.sealKeyFile);
    } catch (err) {
      this.log.warn({ err, file: c.materializer.sealKeyFile }, 'cannot read materializer.sealKeyFile: sessions cut off by a crash will not be sealed incomplete');
      return;
    }
    await this.admin.connect();
    this.sealer = new IdleSealer({
      store: this.store, admin: this.admin, topic: c.kafka.topic, groupId: c.materializer.groupId, idleTimeoutMs: c.materializer.idleTimeoutMs,
      key, sealerId: c.nodeId, assigned: () => this.assigned, log: this.log, metrics: this.metrics,
    });
    this.sealer.start(this.opts.sealSweepMs ?? Math.min(30_000, Math.max(250, Math.floor(c.materializer.idleTimeoutMs / 4))));
  }

  /**
   * Config `retention` on the recording tables: TTLs where ClickHouse has them (set once), else the
   * expired month partitions dropped now and again every day (store retention.ts).
   */
  private async enforceRetention(): Promise<void> {
    const run = async () => {
      try {
        const r = await this.store.applyRetention(this.opts.config.retention);
        this.log.info({ ttl: r.ttl, dropped: r.dropped }, 'retention applied');
        return r;
      } catch (err) {
        this.log.warn({ err }, 'applying retention failed; recordings are kept until it succeeds');
        return undefined;
      }
    };
    const first = await run();
    if (first && first.ttl.length === 0) this.retentionTimer = setInterval(() => void run(), 86_400_000).unref();
  }

  /** Seals idle sessions now (tests; normally a timer does it). Resolves to how many were sealed. */
  async sealIdleSessions(): Promise<number> {
    return this.sealer ? this.sealer.sweep() : 0;
  }

  private async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.sealer?.stop();
    await this.admin.disconnect().catch(() => undefined);
    await this.consumer.disconnect().catch((err: Error) => this.log.warn({ err }, 'Kafka disconnect failed'));
    await this.store.close().catch((err: Error) => this.log.warn({ err }, 'ClickHouse client close failed'));
    await new Promise<void>((r) => (this.ops ? this.ops.close(() => r()) : r()));
  }

  private fail(err: unknown): void {
    this.log.error({ err }, 'materializer failed');
    if (this.lifecycle.state !== 'failed' && this.lifecycle.state !== 'stopped') this.lifecycle.to('failed');
  }

  private checks() {
    return {
      kafka: { ok: this.kafkaOk, ...(this.kafkaOk ? {} : { detail: 'not connected to the consumer group' }) },
      clickhouse: { ok: this.clickhouseOk, ...(this.clickhouseOk ? {} : { detail: this.clickhouseDetail }) },
      schemas: { ok: this.held.size === 0, ...(this.held.size === 0 ? {} : { detail: [...this.held.values()].join('; ') }) },
    };
  }

  /**
   * A record's events. A malformed record is logged, counted and skipped, never fatal (it would
   * block its partition for good). A record of an unknown schema is not malformed but newer than
   * this build: it is answered with NEWER_SCHEMA and its partition is held there.
   */
  private decode(m: KafkaMessage, partition: number): DecodedEvent[] | undefined | typeof NEWER_SCHEMA {
    if (!m.value) return this.skip('EMPTY', m, partition, 'message has no value');
    try {
      return decodeRecord(m.value);
    } catch (err) {
      if (err instanceof EventDecodeError && err.code === 'UNKNOWN_SCHEMA') return NEWER_SCHEMA;
      const code = err instanceof EventDecodeError ? err.code : 'MALFORMED';
      return this.skip(code, m, partition, errorMessage(err));
    }
  }

  /**
   * Stops reading a partition at a record this build cannot decode because its schema is newer:
   * the record and everything after it stay in Kafka, uncommitted; /healthz says why; the
   * partition is fetched again every HELD_RETRY_MS (a restart with a newer build reads on).
   */
  private hold(p: EachBatchPayload, m: KafkaMessage): void {
    const { partition } = p.batch;
    const why = `partition ${partition} held at offset ${m.offset}: written with a schema this materializer does not know (a newer gateway?); upgrade the materializer — nothing past it is lost or committed`;
    if (!this.held.has(partition)) {
      this.metrics.decodeErrors.inc({ code: 'UNKNOWN_SCHEMA' });
      this.log.error({ partition, offset: m.offset, key: m.key?.toString('utf8'), code: 'UNKNOWN_SCHEMA' }, why);
    }
    this.held.set(partition, why);
    const resume = p.pause();
    setTimeout(resume, HELD_RETRY_MS).unref();
  }

  private skip(code: string, m: KafkaMessage, partition: number, reason: string): undefined {
    this.metrics.decodeErrors.inc({ code });
    this.log.warn({ partition, offset: m.offset, key: m.key?.toString('utf8'), code }, `skipping undecodable record: ${reason}`);
    return undefined;
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const records: { offset: string; events: DecodedEvent[] | undefined }[] = [];
    let newer: KafkaMessage | undefined;
    for (const m of batch.messages) {
      const events = this.decode(m, batch.partition);
      if (events === NEWER_SCHEMA) {
        newer = m;
        break;
      }
      records.push({ offset: m.offset, events });
    }
    if (newer === undefined) this.held.delete(batch.partition);
    // Inserts of at most batchSize events; a record split between two is resolved with the second.
    for (const chunk of chunkRecords(records, this.opts.config.materializer.batchSize)) {
      if (!p.isRunning() || p.isStale()) return;
      try {
        // Resolves once ClickHouse accepted this chunk (with other partitions' chunks) and the
        // offsets were committed. With autoCommit off, kafkajs commits only offsets resolved here.
        await this.inserts.submit({ items: chunk.events, context: p, accepted: () => this.resolve(p, chunk) });
      } catch (err) {
        if (err instanceof NoLongerOurs) return;
        throw err;
      }
      await p.heartbeat();
      if (chunk.resolve === undefined) continue;
      const lag = Number(batch.highWatermark) - Number(chunk.resolve) - 1;
      this.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
    }
    if (newer !== undefined && p.isRunning() && !p.isStale()) this.hold(p, newer);
  }

  /** ClickHouse accepted a chunk: the records that end in it are done. */
  private resolve(p: EachBatchPayload, chunk: Chunk<DecodedEvent>): void {
    if (p.isStale() || chunk.resolve === undefined) return;
    p.resolveOffset(chunk.resolve);
    this.metrics.records.inc(chunk.records);
  }

  /** Retries until ClickHouse accepts, or the consumer stops (offsets then stay uncommitted). */
  private async insertWithRetry(events: DecodedEvent[], payloads: EachBatchPayload[]): Promise<void> {
    const running = () => payloads.some((p) => p.isRunning() && !p.isStale());
    for (let attempt = 0; ; attempt++) {
      const end = this.metrics.insertSeconds.startTimer();
      try {
        await this.store.insertEvents(events);
        end();
        this.accepted(events);
        this.clickhouseOk = true;
        return;
      } catch (err) {
        this.metrics.insertFailures.inc();
        this.clickhouseOk = false;
        this.clickhouseDetail = errorMessage(err);
        const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
        this.log.warn({ err, attempt, retryInMs: delay, events: events.length }, 'ClickHouse insert failed; retrying (offsets stay uncommitted)');
        await sleep(delay);
        if (!running()) throw new NoLongerOurs();
        await payloads[0]!.heartbeat().catch(() => undefined);
      }
    }
  }

  private accepted(events: DecodedEvent[]): void {
    this.metrics.events.inc(events.length);
    this.metrics.batches.inc();
    this.metrics.batchEvents.observe(events.length);
    let oldest = Infinity;
    for (const e of events) if (e.event.tsMicros < oldest) oldest = e.event.tsMicros;
    if (oldest !== Infinity) this.metrics.eventLag.observe(Math.max(0, Date.now() / 1000 - oldest / 1e6));
  }
}
