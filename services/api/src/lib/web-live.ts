import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@chaperone/observability';
import type { LiveFeed } from './live-feed.js';

/** How often a stream re-reads what it watches (the store, the approval workflows) for changes, when polling. */
export const LIVE_POLL_MS = 1000;
/**
 * After Kafka shows a watched session's new events, the store is re-read every LIVE_POLL_MS for
 * this long: the materializer stores them within its flush interval (500 ms by default).
 */
export const SETTLE_MS = 5000;
/** A stream fed from Kafka still re-reads this often (what Kafka does not carry: an approval's end, a seal check). */
export const SAFETY_MS = 30_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Streams one API process serves at once; past it a client is told to fall back to polling. */
export const MAX_STREAMS = 200;

let open = 0;

export interface LiveStreamOptions {
  /** Reads the current state through the same authorization as the JSON call (a refusal ends the stream). */
  read: () => Promise<unknown>;
  headers: Record<string, string>;
  log: Logger;
  pollMs?: number;
  /**
   * Where to hear of changes instead of polling: the session's (or ANY_SESSION's) records in
   * Kafka. While the feed is live the store is read only after a record (for SETTLE_MS) and every
   * SAFETY_MS; while it is not, every pollMs as without one.
   */
  feed?: { source: LiveFeed; sessionId: string };
  settleMs?: number;
}

/**
 * When a stream reads next: every pollMs while settling after a change Kafka showed (or without
 * a live feed), else only the safety read; a change while idle reads soon (half a poll: the
 * records of a burst come together), one while reading extends the settling that read schedules.
 */
function readSchedule(o: LiveStreamOptions, read: () => void) {
  const pollMs = o.pollMs ?? LIVE_POLL_MS;
  const feed = o.feed?.source;
  let timer: NodeJS.Timeout | undefined;
  let changedAt = 0;
  let idle = false;
  let reading = false;
  const later = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      reading = true;
      read();
    }, ms);
  };
  return {
    /** The read is done (or, at the start, due now). */
    afterRead(): void {
      reading = false;
      idle = false;
      if (!feed?.live) {
        feed?.retry();
        return later(pollMs);
      }
      if (Date.now() - changedAt < (o.settleMs ?? SETTLE_MS)) return later(pollMs);
      idle = true;
      later(SAFETY_MS);
    },
    changed(): void {
      changedAt = Date.now();
      if (reading || !(idle || !feed?.live)) return;
      idle = false;
      later(pollMs / 2);
    },
    now: () => later(0),
    stop: () => clearTimeout(timer),
  };
}

/**
 * Server-sent events (text/event-stream, same origin, the session cookie): the state once at
 * start, then again each time it changes (an `update` event with the JSON), so the console need
 * not poll. The state is re-read server-side through the caller's own authorization (a token that
 * expires or loses its role ends the stream with an `error` event): when Kafka shows the watched
 * session changed (o.feed), else every LIVE_POLL_MS. Returns false when too many streams are open
 * (the caller answers 503; the console polls).
 */
export function serveLive(req: IncomingMessage, res: ServerResponse, o: LiveStreamOptions): boolean {
  if (open >= MAX_STREAMS) return false;
  open++;
  res.writeHead(200, { ...o.headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  // The browser reconnects after this long when the connection drops.
  res.write('retry: 3000\n\n');
  let last = '';
  let closed = false;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const tick = async () => {
    try {
      const json = JSON.stringify(await o.read());
      if (closed) return;
      if (json !== last) res.write(`event: update\ndata: ${json}\n\n`);
      last = json;
      schedule.afterRead();
    } catch (err) {
      const f = err as { code?: unknown; details?: string; message?: string };
      if (typeof f.code !== 'number') o.log.warn({ err }, 'live stream failed');
      if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ message: f.details ?? f.message ?? String(err) })}\n\n`);
      close();
    }
  };
  const schedule = readSchedule(o, () => void tick());
  const unwatch = o.feed?.source.watch(o.feed.sessionId, () => !closed && schedule.changed());
  const close = () => {
    if (closed) return;
    closed = true;
    open--;
    unwatch?.();
    schedule.stop();
    clearInterval(heartbeat);
    res.end();
  };
  req.on('close', close);
  schedule.now();
  return true;
}
