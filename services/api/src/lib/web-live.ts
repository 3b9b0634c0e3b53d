import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@chaperone/observability';

/** How often a stream re-reads what it watches (the store, the approval workflows) for changes. */
export const LIVE_POLL_MS = 1000;
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
}

/**
 * Server-sent events (text/event-stream, same origin, the session cookie): the state once at
 * start, then again each time it changes (an `update` event with the JSON), so the console need
 * not poll. The state is re-read server-side every LIVE_POLL_MS through the caller's own
 * authorization: a token that expires or loses its role ends the stream with an `error` event.
 * Returns false when too many streams are open (the caller answers 503; the console polls).
 */
export function serveLive(req: IncomingMessage, res: ServerResponse, o: LiveStreamOptions): boolean {
  if (open >= MAX_STREAMS) return false;
  open++;
  res.writeHead(200, { ...o.headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  // The browser reconnects after this long when the connection drops.
  res.write('retry: 3000\n\n');
  let last = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const close = () => {
    if (closed) return;
    closed = true;
    open--;
    clearTimeout(timer);
    clearInterval(heartbeat);
    res.end();
  };
  req.on('close', close);
  const tick = async () => {
    try {
      const json = JSON.stringify(await o.read());
      if (closed) return;
      if (json !== last) res.write(`event: update\ndata: ${json}\n\n`);
      last = json;
      timer = setTimeout(() => void tick(), o.pollMs ?? LIVE_POLL_MS);
    } catch (err) {
      const f = err as { code?: unknown; details?: string; message?: string };
      if (typeof f.code !== 'number') o.log.warn({ err }, 'live stream failed');
      if (!closed) res.write(`event: error\ndata: ${JSON.stringify({ message: f.details ?? f.message ?? String(err) })}\n\n`);
      close();
    }
  };
  void tick();
  return true;
}
