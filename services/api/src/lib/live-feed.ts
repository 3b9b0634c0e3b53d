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

type State = { kind: 'idle' } | { kind: 'starting' } | { kind: 'running'; consumer: Consumer; admin: Admin; groupId: string } | { kind: 'failed'; at: number };

/** The live feed over config.kafka.topic; the consumer starts with the first watcher and stops after the last (FEED_LINGER_MS). */
export function kafkaLiveFeed(config: Pick<Config, 'kafka'>, log: Logger, o: { lingerMs?: number; retryMs?: number } = {}): LiveFeed {
  const watchers = new Map<string, Set<() => void>>();
  let state: State = { kind: 'idle' };
  let linger: NodeJS.Timeout | undefined;
  let closed = false;
  const everyone = () => [...watchers.values()].flatMap((s) => [...s]);
  const tell = (sessionId: string) => {
    for (const key of [sessionId, ANY_SESSION]) for (const cb of watchers.get(key) ?? []) cb();
  };
  const fail = (err: unknown) => {
    if (closed) return;
    log.warn({ err }, 'live feed: cannot follow the sessions topic; live streams poll the store');
    const was = state;
    state = { kind: 'failed', at: Date.now() };
    if (was.kind === 'running') void stopConsumer(was);
    for (const cb of everyone()) cb();
  };
  const start = async () => {
    state = { kind: 'starting' };
    const kafka = new Kafka(kafkaClientOptions(config.kafka, { role: 'api-live' }));
    const groupId = `chaperone-live-${randomBytes(6).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, minBytes: 1, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    const admin = kafka.admin();
    try {
      await consumer.connect();
      // A new group without committed offsets starts at the end: only what the gateways publish from now on.
      await consumer.subscribe({ topics: [config.kafka.topic], fromBeginning: false });
      consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
      const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          if (message.key) tell(message.key.toString());
          return Promise.resolve();
        },
      });
      await joined;
      await admin.connect();
      if (closed) return void (await stopConsumer({ consumer, admin, groupId }));
      state = { kind: 'running', consumer, admin, groupId };
      for (const cb of everyone()) cb();
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      fail(err);
    }
  };
  const stopConsumer = async (s: { consumer: Consumer; admin: Admin; groupId: string }) => {
    await s.consumer.disconnect().catch(() => undefined);
    await s.admin.deleteGroups([s.groupId]).catch(() => undefined);
    await s.admin.disconnect().catch(() => undefined);
  };
  const ensureStarted = () => {
    clearTimeout(linger);
    const retryMs = o.retryMs ?? FEED_RETRY_MS;
    if (closed || state.kind === 'starting' || state.kind === 'running') return;
    if (state.kind === 'failed' && Date.now() - state.at < retryMs) return;
    void start();
  };
  const stopWhenUnwatched = () => {
    if (watchers.size) return;
    linger = setTimeout(() => {
      if (watchers.size || state.kind !== 'running') return;
      const s = state;
      state = { kind: 'idle' };
      void stopConsumer(s);
    }, o.lingerMs ?? FEED_LINGER_MS);
  };
  return {
    get live() {
      return state.kind === 'running';
    },
    watch(sessionId, onChange) {
      let set = watchers.get(sessionId);
      if (!set) watchers.set(sessionId, (set = new Set()));
      set.add(onChange);
      ensureStarted();
      return () => {
        set.delete(onChange);
        if (!set.size && watchers.get(sessionId) === set) watchers.delete(sessionId);
        stopWhenUnwatched();
      };
    },
    retry: () => {
      if (watchers.size) ensureStarted();
    },
    async close() {
      closed = true;
      clearTimeout(linger);
      const s = state;
      state = { kind: 'idle' };
      if (s.kind === 'running') await stopConsumer(s);
    },
  };
}
