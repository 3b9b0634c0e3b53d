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
const ESCAPE = /%[0-9A-Fa-f]{2}/;
// RFC 3986 §3.3 pchar = unreserved / pct-encoded / sub-delims / ":" / "@", plus "/" between segments.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
// The query is opaque to routing, but control characters, spaces, '#' and '\' are never valid there.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_QUERY_CHARS = /[\x00-\x20\x7f#\\]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SEPARATOR_OR_CONTROL = /[/\\\x00-\x1f\x7f]/;
/** Decoding rounds after which a segment that still has escapes is refused outright. */
const MAX_DECODES = 4;

/** A dot segment, also with `;` path parameters after it (`..;x`, Tomcat-style). */
function isDotSegment(seg: string): boolean {
  const semi = seg.indexOf(';');
  const s = semi < 0 ? seg : seg.slice(0, semi);
  return s === '.' || s === '..';
}

function decodeOnce(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // Not UTF-8: overlong forms (%c0%ae is '.' to a lenient decoder), lone continuation bytes, …
    throw new HttpProtocolError('BAD_TARGET', `percent-encoding that is not valid UTF-8 (overlong or truncated) in path segment "${truncate(raw)}"`);
  }
}

/**
 * Decides on the fully decoded segment (RFC 3986 §2.4: decoding twice is a classic bypass):
 * decodes as long as escapes remain, and refuses a segment that at any round is a dot segment
 * (with or without `;` parameters) or holds a '/', '\\', NUL or another control character.
 * Returns the segment decoded once, as parsers use it.
 */
function decodeSegment(raw: string): string {
  if (isDotSegment(raw)) throw new HttpProtocolError('PATH_TRAVERSAL', 'dot segment ("." or "..") in the request path');
  if (!raw.includes('%')) return raw;
  for (let i = raw.indexOf('%'); i >= 0; i = raw.indexOf('%', i + 1)) {
    if (!HEX.test(raw.slice(i + 1, i + 3))) throw new HttpProtocolError('BAD_TARGET', `invalid percent-escape in path segment "${truncate(raw)}"`);
  }
  const once = decodeOnce(raw);
  let s = once;
  for (let round = 1; ; round++) {
    if (isDotSegment(s)) throw new HttpProtocolError('PATH_TRAVERSAL', 'dot segment ("." or "..", percent-encoded once or more) in the request path');
    if (SEPARATOR_OR_CONTROL.test(s)) throw new HttpProtocolError('PATH_TRAVERSAL', 'encoded "/", "\\", NUL or control character in a path segment');
    if (!ESCAPE.test(s)) return once;
    if (round >= MAX_DECODES) throw new HttpProtocolError('BAD_TARGET', `path segment percent-encoded more than ${MAX_DECODES} times`);
    s = decodeOnce(s.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
  }
}

/**
 * Checks and splits a request target (RFC 9112 §3.2). Only origin-form is routed: the gateway
 * is a reverse proxy, so absolute-form, authority-form and asterisk-form are refused. Anything
 * that a path normaliser further along could turn into a different route is refused: dot
 * segments (also percent-encoded, once or several times, or with `;` parameters), encoded '/'
 * or '\\', NUL and control characters, percent-encoding that is not UTF-8 (overlong forms),
 * empty segments. Routing then compares plain strings and an upstream never sees a path that
 * escapes its prefix.
 */
export function parseTarget(raw: string, _method: string): RequestTarget {
  if (!raw.startsWith('/')) throw new HttpProtocolError('BAD_TARGET', `request target must be origin-form, starting with "/" (got "${truncate(raw)}"; RFC 9112 §3.2.1)`);
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? '' : raw.slice(q + 1);
  if (!PATH_CHARS.test(path)) throw new HttpProtocolError('BAD_TARGET', `path contains characters that must be percent-encoded: "${truncate(path)}"`);
  if (BAD_QUERY_CHARS.test(query)) throw new HttpProtocolError('BAD_TARGET', 'query contains control characters, spaces, "#" or "\\"');
  const rawSegments = path.split('/').slice(1);
  const segments: string[] = [];
  for (let i = 0; i < rawSegments.length; i++) {
    const seg = decodeSegment(rawSegments[i]!);
    if (seg === '' && i < rawSegments.length - 1) throw new HttpProtocolError('PATH_TRAVERSAL', 'empty path segment ("//") in the request path');
    if (seg !== '' || i < rawSegments.length - 1) segments.push(seg);
  }
  return { path, query, segments };
}

/**
 * What git, OCI registries and the Kubernetes API never put in a path, refused for those
 * connection kinds: `;` path parameters anywhere, and an encoded '%' (a double encoding).
 * A REST API may use both (matrix parameters, literal '%' in names), as long as parseTarget
 * found nothing that decodes to a dot segment or a separator.
 */
export function checkPathForKind(path: string, kind: 'rest' | 'git' | 'oci' | 'k8s' | 'mcp'): void {
  if (kind === 'rest' || kind === 'mcp') return;
  if (path.includes(';')) throw new HttpProtocolError('PATH_TRAVERSAL', `";" path parameters are not valid in ${kind} request paths`);
  if (/%25/i.test(path)) throw new HttpProtocolError('PATH_TRAVERSAL', `double percent-encoding ("%25") is not valid in ${kind} request paths`);
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
