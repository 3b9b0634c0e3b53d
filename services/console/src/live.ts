import { useEffect, useState } from 'preact/hooks';

/**
 * A counter that moves each time what `path` answers changes, pushed by the API as server-sent
 * events (`/api/v1/live/<path>`: same origin, the session cookie, `connect-src 'self'`); pages
 * re-read their data when it moves. Polling every `fallbackMs` is kept only for when the stream
 * cannot be had (refused, too many streams, no EventSource). `path` undefined: nothing is watched.
 */
export function useChanges(path: string | undefined, fallbackMs: number): { tick: number; mode: 'live' | 'polling' | 'off' } {
  const [tick, setTick] = useState(0);
  const [mode, setMode] = useState<'live' | 'polling' | 'off'>('off');
  useEffect(() => {
    if (!path) return setMode('off');
    let timer: number | undefined;
    const poll = () => {
      setMode('polling');
      timer ??= window.setInterval(() => setTick((t) => t + 1), fallbackMs);
    };
    if (typeof EventSource === 'undefined') {
      poll();
      return () => window.clearInterval(timer);
    }
    const es = new EventSource(`/api/v1/live/${path}`);
    es.addEventListener('update', () => {
      setMode('live');
      setTick((t) => t + 1);
    });
    // A dropped connection is retried by the browser; a refused one (CLOSED) falls back to polling.
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) poll();
    });
    return () => {
      es.close();
      window.clearInterval(timer);
    };
  }, [path, fallbackMs]);
  return { tick, mode };
}
