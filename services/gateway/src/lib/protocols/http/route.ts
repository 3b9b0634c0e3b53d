/** One routable HTTP connection: by host names (empty = any host) and/or a path prefix. */
export interface Route<T> {
  hosts: readonly string[];
  /** Starts and ends with '/', or undefined for the whole host. */
  prefix: string | undefined;
  value: T;
}

export interface RouteMatch<T> {
  value: T;
  /** The path the upstream should see when the prefix is stripped (always starts with '/'). */
  rest: string;
  prefix: string | undefined;
}

/**
 * Picks the connection for a request: a route naming the host beats a host-less one, then the
 * longest prefix wins. `/git` matches the prefix `/git/` too. The path was checked by
 * `parseTarget` (no dot segments, no encoded slashes), so plain string comparison is exact.
 */
export function selectRoute<T>(routes: readonly Route<T>[], host: string, path: string): RouteMatch<T> | undefined {
  let best: { route: Route<T>; score: number } | undefined;
  for (const route of routes) {
    const hostHit = route.hosts.length === 0 ? 0 : route.hosts.includes(host) ? 1 : -1;
    if (hostHit < 0) continue;
    let len = 0;
    if (route.prefix !== undefined) {
      if (path.startsWith(route.prefix)) len = route.prefix.length;
      else if (`${path}/` === route.prefix) len = route.prefix.length;
      else continue;
    }
    const score = hostHit * 1_000_000 + len;
    if (!best || score > best.score) best = { route, score };
  }
  if (!best) return undefined;
  const prefix = best.route.prefix;
  const rest = prefix === undefined ? path : `/${path.slice(Math.min(path.length, prefix.length))}`;
  return { value: best.route.value, rest, prefix };
}
