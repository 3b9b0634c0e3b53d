import { randomBytes } from 'node:crypto';
import { Kafka, type Admin, type Consumer } from 'kafkajs';
import type { Config } from '@chaperone/config';
import { kafkaClientOptions } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';

/** After a failure the feed is tried again no sooner than this (streams poll the store meanwhile). */
export const FEED_RETRY_MS = 10_000;
/** With no watcher left the consumer stays this long (a page reload would otherwise rejoin a group). */
export const FEED_LINGER_MS = 30_000;

/** Watch every session (the sessions list) rather than one. */
export const ANY_SESSION = '*';

/**
 * Which sessions have new events, straight from the sessions topic, for the console's live streams
 * (web-live.ts). One consumer per API process serves every browser stream: a record's key is its
 * session id, so a watcher of that session (or of ANY_SESSION) is told as soon as the gateway
 * published, without reading the record's events. `live` is false until the consumer reads the
 * topic and again after it failed; the streams then re-read the store on their own.
 */
export interface LiveFeed {
  readonly live: boolean;
  /** Calls `onChange` for each record of the session (or of any session), and once when the feed turns live or fails. */
  watch(sessionId: string, onChange: () => void): () => void;
  /** Starts the consumer again if it failed more than FEED_RETRY_MS ago (a polling stream asks on each poll). */
  retry(): void;
  close(): Promise<void>;
}

type Running = { consumer: Consumer; admin: Admin; groupId: string };
type State = { kind: 'idle' } | { kind: 'starting' } | ({ kind: 'running' } & Running) | { kind: 'failed'; at: number };

export interface LiveFeedOptions {
  /** @default FEED_LINGER_MS */
  lingerMs?: number;
  /** @default FEED_RETRY_MS */
  retryMs?: number;
}

/** Leaves the consumer's group and deletes it (it was a throwaway). */
async function stopConsumer(s: Running): Promise<void> {
  await s.consumer.disconnect().catch(() => undefined);
  await s.admin.deleteGroups([s.groupId]).catch(() => undefined);
  await s.admin.disconnect().catch(() => undefined);
}

class KafkaLiveFeed implements LiveFeed {
  private readonly watchers = new Map<string, Set<() => void>>();
  private state: State = { kind: 'idle' };
  private linger: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly config: Pick<Config, 'kafka'>,
    private readonly log: Logger,
    private readonly o: LiveFeedOptions,
  ) {}

  get live(): boolean {
    return this.state.kind === 'running';
  }

  watch(sessionId: string, onChange: () => void): () => void {
    let set = this.watchers.get(sessionId);
    if (!set) this.watchers.set(sessionId, (set = new Set()));
    set.add(onChange);
    this.ensureStarted();
    return () => {
      set.delete(onChange);
      if (!set.size && this.watchers.get(sessionId) === set) this.watchers.delete(sessionId);
      this.stopWhenUnwatched();
    };
  }

  retry(): void {
    if (this.watchers.size) this.ensureStarted();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.linger);
    const s = this.state;
    this.state = { kind: 'idle' };
    if (s.kind === 'running') await stopConsumer(s);
  }

  private tellAll(): void {
    for (const set of [...this.watchers.values()]) for (const cb of [...set]) cb();
  }

  private tell(sessionId: string): void {
    for (const key of [sessionId, ANY_SESSION]) for (const cb of this.watchers.get(key) ?? []) cb();
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err }, 'live feed: cannot follow the sessions topic; live streams poll the store');
    const was = this.state;
    this.state = { kind: 'failed', at: Date.now() };
    if (was.kind === 'running') void stopConsumer(was);
    this.tellAll();
  }

  private ensureStarted(): void {
    clearTimeout(this.linger);
    const s = this.state;
    if (this.closed || s.kind === 'starting' || s.kind === 'running') return;
    if (s.kind === 'failed' && Date.now() - s.at < (this.o.retryMs ?? FEED_RETRY_MS)) return;
    this.state = { kind: 'starting' };
    this.start().catch((err: unknown) => this.fail(err));
  }

  /** Joins a throwaway group on the sessions topic; live once the group is joined. */
  private async start(): Promise<void> {
    const kafka = new Kafka(kafkaClientOptions(this.config.kafka, { role: 'api-live' }));
    const groupId = `chaperone-live-${randomBytes(6).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, minBytes: 1, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    const run: Running = { consumer, admin: kafka.admin(), groupId };
    try {
      await consumer.connect();
      // A new group without committed offsets starts at the end: only what the gateways publish from now on.
      await consumer.subscribe({ topics: [this.config.kafka.topic], fromBeginning: false });
      consumer.on(consumer.events.CRASH, (e) => this.fail(e.payload.error));
      const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          if (message.key) this.tell(message.key.toString());
          return Promise.resolve();
        },
      });
      await joined;
      await run.admin.connect();
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    if (this.closed) return stopConsumer(run);
    this.state = { kind: 'running', ...run };
    this.tellAll();
  }

  private stopWhenUnwatched(): void {
    if (this.watchers.size) return;
    this.linger = setTimeout(() => {
      if (this.watchers.size || this.state.kind !== 'running') return;
      const s = this.state;
      this.state = { kind: 'idle' };
      void stopConsumer(s);
    }, this.o.lingerMs ?? FEED_LINGER_MS);
  }
}

/** The live feed over config.kafka.topic; the consumer starts with the first watcher and stops after the last (FEED_LINGER_MS). */
export function kafkaLiveFeed(config: Pick<Config, 'kafka'>, log: Logger, o: LiveFeedOptions = {}): LiveFeed {
  return new KafkaLiveFeed(config, log, o);
}
