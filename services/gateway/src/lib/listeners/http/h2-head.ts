/**
 * Turning an HTTP/2 request head into the HTTP/1.1 head the rest of the listener (and the
 * upstream, always spoken to in HTTP/1.1) expects, and the reverse for response heads.
 * Pure functions over header lists; `h2.ts` wires them into Node's compatibility API.
 */

/** Per-field overhead counted by SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2). */
const FIELD_OVERHEAD = 32;

/**
 * Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); TE is allowed only as
 * `trailers`, which means nothing to an HTTP/1.1 response either, so it goes too.
 */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

export interface H1Head {
  /** Name/value list without pseudo-header fields, `Host` first when derived from `:authority`. */
  rawHeaders: string[];
  /** The request's authority: `:authority`, else `Host`; undefined when neither is present. */
  authority: string | undefined;
  /** Bytes the header list counts against SETTINGS_MAX_HEADER_LIST_SIZE (pseudo-fields included). */
  listBytes: number;
  /** Regular (non-pseudo) fields, each `cookie` crumb counted. */
  fields: number;
  /** A reason the head is malformed beyond what nghttp2 already checks, for a 400. */
  problem: string | undefined;
}

/**
 * The HTTP/1.1 head of an HTTP/2 request (RFC 9113 §8.3.1): `:authority` becomes `Host`
 * unless the request carries one (then both must agree), pseudo-fields are dropped, and
 * split `cookie` fields are joined with "; " as an HTTP/1.1 hop requires (RFC 9113 §8.2.3).
 */
export function h1RequestHead(raw: readonly string[]): H1Head {
  const out: string[] = [];
  const cookies: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  let hosts = 0;
  let listBytes = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    listBytes += name.length + value.length + FIELD_OVERHEAD;
    if (name.startsWith(':')) {
      if (name === ':authority') authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === 'cookie') cookies.push(value);
    else {
      if (lower === 'host') {
        hosts++;
        host = value;
      }
      out.push(name, value);
    }
  }
  if (cookies.length > 0) out.push('cookie', cookies.join('; '));
  let problem: string | undefined;
  if (hosts > 1) problem = 'more than one Host header';
  else if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase())
    problem = `Host "${host.slice(0, 80)}" differs from :authority "${authority.slice(0, 80)}" (RFC 9113 §8.3.1)`;
  else if (authority === undefined && host === undefined) problem = 'neither :authority nor Host names the target host';
  if (host === undefined && authority !== undefined) out.unshift('host', authority);
  return { rawHeaders: out, authority: authority ?? host, listBytes, fields: (out.length >> 1) + Math.max(0, cookies.length - 1) - (host === undefined && authority !== undefined ? 1 : 0), problem };
}

/**
 * A response head as HTTP/2 may carry it: connection-specific fields and every field the
 * Connection header names are dropped (RFC 9113 §8.2.2). Accepts Node's flat list, a list of
 * pairs, or a header object, as `writeHead` does.
 */
export function h2ResponseHeaders(headers: readonly string[] | readonly (readonly [string, string])[] | Record<string, unknown>): [string, unknown][] {
  let pairs: [string, unknown][];
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) pairs = (headers as readonly (readonly [string, string])[]).map(([k, v]) => [k, v]);
    else {
      const flat = headers as readonly string[];
      pairs = [];
      for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    }
  } else pairs = Object.entries(headers);
  const listed = new Set<string>();
  for (const [k, v] of pairs) {
    if (k.toLowerCase() !== 'connection') continue;
    for (const t of String(v).split(',')) if (t.trim()) listed.add(t.trim().toLowerCase());
  }
  return pairs.filter(([k]) => {
    const lower = k.toLowerCase();
    return !CONNECTION_SPECIFIC.has(lower) && !listed.has(lower);
  });
}
