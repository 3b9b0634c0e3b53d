import { status, type Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { SessionNotFoundError, type StoredEvent, type Store } from '@chaperone/store';
import { CallRefused } from './auth.js';
import type { CallRunner } from './calls.js';
import { eventMsg } from './convert.js';
import { followSession } from './follow.js';
import type { ReplayRequest } from './proto.js';
import { storedPages } from './stored.js';

/**
 * Live follow reads the session's partition from this long ago, so nothing falls between what the
 * materializer stored and what Kafka still holds (as long as the materializer lags less).
 */
const FOLLOW_OVERLAP_MS = 5 * 60_000;

export interface ReplayDeps {
  config: Config;
  store: Store;
  run: CallRunner;
  log: Logger;
  /** How long a follow waits for a session neither stored nor in Kafka before NOT_FOUND. */
  followStartWaitMs: number;
}

type ReplayStream = ServerWritableStream<ReplayRequest, unknown>;
type Live = AsyncGenerator<StoredEvent>;

/** The call's `authorization` metadata, if any. */
export const authorization = (md: Metadata): string | undefined => {
  const v = md.get('authorization')[0];
  return v === undefined ? undefined : String(v);
};

/** Whether the first live event comes within `ms` (false on timeout; a Kafka failure rejects). */
async function arrivesWithin(first: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([first.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Flow control: nothing more is written (or read from the store) until the client has taken what
 * grpc-js buffers, so a slow reader holds the replay at two store pages.
 */
function flowControlled(call: ReplayStream, cancelled: AbortSignal) {
  return async (msg: unknown): Promise<void> => {
    if (call.write(msg) || cancelled.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off('drain', done);
        cancelled.removeEventListener('abort', done);
        resolve();
      };
      call.once('drain', done);
      cancelled.addEventListener('abort', done, { once: true });
    });
  };
}

/** A session unknown to the store and silent in Kafka for followStartWaitMs: NOT_FOUND, not a silent wait. */
async function awaitSessionStart(d: ReplayDeps, id: string, first: Promise<unknown>, reading: Promise<void>): Promise<void> {
  const stored = await d.store.getSession(id).then(
    () => true,
    (err: unknown) => {
      if (err instanceof SessionNotFoundError) return false;
      throw err;
    },
  );
  if (stored) return;
  // The wait counts from when the consumer reads the partition: joining its group can take seconds.
  await Promise.race([reading, first]);
  if (await arrivesWithin(first, d.followStartWaitMs)) return;
  throw new CallRefused(
    status.NOT_FOUND,
    `no session ${id}, recorded or live (waited ${Math.round(d.followStartWaitMs / 1000)}s for it to start); list sessions with \`chaperone sessions ls\``,
  );
}

/** The stored events from `from` on; the last one sent, if any. */
async function sendStored(d: ReplayDeps, call: ReplayStream, send: (m: unknown) => Promise<void>, from: number) {
  let last: { seq: number; type: string } | undefined;
  for await (const page of storedPages(d.store, call.request.sessionId, from)) {
    for (const e of page) {
      await send(eventMsg(e));
      if (call.cancelled) return { last, cancelled: true };
    }
    last = page.at(-1);
  }
  return { last, cancelled: false };
}

/** The live events after seq `after`, starting with the first one the consumer already took, until SessionEnded. */
async function sendLive(call: ReplayStream, send: (m: unknown) => Promise<void>, live: Live, first: Promise<IteratorResult<StoredEvent>>, after: number) {
  const head = await first;
  if (head.done) return;
  if (head.value.seq > after) {
    await send(eventMsg(head.value));
    if (head.value.type === 'SessionEnded') return;
  }
  for await (const e of live) {
    if (e.seq <= after) continue;
    await send(eventMsg(e));
    if (call.cancelled) return;
  }
}

/** The stored part, then (with follow) the live one; NOT_FOUND for an unknown session. */
async function replay(d: ReplayDeps, call: ReplayStream, cancelled: AbortController): Promise<void> {
  const send = flowControlled(call, cancelled.signal);
  const { sessionId: id, follow } = call.request;
  // With follow, the Kafka consumer starts now, while the stored part streams, so it is
  // reading the session's partition by the time the stored events run out.
  let onReady: () => void = () => undefined;
  const reading = new Promise<void>((r) => (onReady = r));
  const live = follow
    ? followSession({ kafka: d.config.kafka, sessionId: id, afterSeq: -1, sinceMs: Date.now() - FOLLOW_OVERLAP_MS, signal: cancelled.signal, log: d.log, onReady })
    : undefined;
  const firstLive = live?.next();
  firstLive?.catch(() => undefined);
  try {
    const from = call.request.fromSeq || 0;
    const stored = await sendStored(d, call, send, from);
    if (stored.cancelled) return;
    const { last } = stored;
    // NOT_FOUND when unknown; with follow, only once a session just starting had a few seconds to show up.
    if (!last && from === 0) await (firstLive ? awaitSessionStart(d, id, firstLive, reading) : d.store.getSession(id));
    if (!live || !firstLive || call.cancelled || last?.type === 'SessionEnded') return;
    await sendLive(call, send, live, firstLive, last ? last.seq : from - 1);
  } finally {
    cancelled.abort();
    await live?.return(undefined);
  }
}

/** The Replay call (server streaming): the stored events of a session and, with follow, the live ones from Kafka. */
export function replayCall(d: ReplayDeps) {
  return (call: ReplayStream): void => {
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    d.run('Replay', authorization(call.metadata), () => replay(d, call, cancelled)).then(
      () => call.end(),
      // grpc-js sends a stream's status from an 'error' event carrying code and details.
      (err: Error) => call.emit('error', err),
    );
  };
}
