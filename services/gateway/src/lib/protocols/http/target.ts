import { HttpProtocolError } from './errors.js';

/** A request target after the checks: the path as received (still percent-encoded) and the query. */
export interface RequestTarget {
  /** Percent-encoded path as received, starting with '/' ('*' for OPTIONS *). */
  path: string;
  /** Raw query without '?', '' when absent. */
  query: string;
  /** Path segments, percent-decoded (for parsers); never '.', '..' or containing '/'. */
  segments: string[];
}

const HEX = /^[0-9A-Fa-f]{2}$/;
// RFC 3986 §3.3 pchar = unreserved / pct-encoded / sub-delims / ":" / "@", plus "/" between segments.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
// The query is opaque to routing, but control characters, spaces, '#' and '\' are never valid there.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_QUERY_CHARS = /[\x00-\x20\x7f#\\]/;

function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw;
  for (let i = raw.indexOf('%'); i >= 0; i = raw.indexOf('%', i + 1)) {
    if (!HEX.test(raw.slice(i + 1, i + 3))) throw new HttpProtocolError('BAD_TARGET', `invalid percent-escape in path segment "${raw}"`);
  }
  try {
    return decodeURIComponent(raw);
  } catch {
    // Escapes that do not form UTF-8 are kept byte-wise: still checked for '/', '\' and NUL below.
    return raw.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

/**
 * Checks and splits a request target (RFC 9112 §3.2). Only origin-form is routed (and `*` for
 * OPTIONS); absolute-form is accepted for its path, the authority is the caller's concern.
 * Anything that a path normaliser further along could turn into a different route is refused:
 * dot segments (also as %2e), encoded '/' or '\', NUL, empty segments. Routing then compares
 * plain strings and an upstream never sees a path that escapes its prefix.
 */
export function parseTarget(raw: string, method: string): RequestTarget {
  if (raw === '*') {
    if (method !== 'OPTIONS') throw new HttpProtocolError('BAD_TARGET', 'the asterisk-form target is only valid for OPTIONS');
    return { path: '*', query: '', segments: [] };
  }
  let target = raw;
  if (!target.startsWith('/')) {
    const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!m) throw new HttpProtocolError('BAD_TARGET', `request target must start with "/" (got "${truncate(raw)}")`);
    target = m[1] || '/';
    if (!target.startsWith('/')) target = `/${target}`;
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (!PATH_CHARS.test(path)) throw new HttpProtocolError('BAD_TARGET', `path contains characters that must be percent-encoded: "${truncate(path)}"`);
  if (BAD_QUERY_CHARS.test(query)) throw new HttpProtocolError('BAD_TARGET', 'query contains control characters, spaces, "#" or "\\"');
  const rawSegments = path.split('/').slice(1);
  const segments: string[] = [];
  for (let i = 0; i < rawSegments.length; i++) {
    const seg = decodeSegment(rawSegments[i]!);
    if (seg === '' && i < rawSegments.length - 1) throw new HttpProtocolError('PATH_TRAVERSAL', 'empty path segment ("//") in the request path');
    if (seg === '.' || seg === '..') throw new HttpProtocolError('PATH_TRAVERSAL', 'dot segment ("." or "..", also percent-encoded) in the request path');
    if (/[/\\\0]/.test(seg)) throw new HttpProtocolError('PATH_TRAVERSAL', 'encoded "/", "\\" or NUL in a path segment');
    if (seg !== '' || i < rawSegments.length - 1) segments.push(seg);
  }
  return { path, query, segments };
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
