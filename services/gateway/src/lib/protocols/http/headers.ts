import { HttpProtocolError } from './errors.js';

/** Header list as Node gives it (`rawHeaders`): name, value, name, value, ... */
export type RawHeaders = readonly string[];

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) apply to one connection only and are never forwarded,
 * together with every field the Connection header names. Proxy-Authorization/-Authenticate
 * belong to the hop as well (RFC 9110 §11.7).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Fields the recording never stores in clear: the agent's token travels in them. */
const SECRET_REQUEST_FIELDS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization']);

// RFC 9110 §5.1 field-name = token; §5.5 field-value: VCHAR, obs-text, SP and HTAB only.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export function headerValues(raw: RawHeaders, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

export function headerValue(raw: RawHeaders, name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/**
 * Validates a request head the way a front-end proxy must so that it and the upstream agree
 * on where the request ends (RFC 9112 §6.1, §6.3): Content-Length together with
 * Transfer-Encoding is refused outright (the classic CL.TE/TE.CL smuggling), a Content-Length
 * must be one decimal number, the only transfer coding accepted is a single `chunked`, field
 * names and values carry no control characters (header injection), Host appears once.
 */
export function checkRequestHead(raw: RawHeaders, maxBodyBytes: number): Framing {
  let host = 0;
  const lengths: string[] = [];
  const codings: string[] = [];
  let te = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1] ?? '';
    if (!TOKEN.test(name)) throw new HttpProtocolError('BAD_HEADER', `invalid header name ${JSON.stringify(name.slice(0, 40))}`);
    if (BAD_VALUE.test(value)) throw new HttpProtocolError('BAD_HEADER', `control characters in the value of ${name}`);
    const lower = name.toLowerCase();
    if (lower === 'host') host++;
    else if (lower === 'content-length') lengths.push(...value.split(',').map((v) => v.trim()));
    else if (lower === 'transfer-encoding') {
      te = true;
      codings.push(...value.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== ''));
    }
  }
  if (host > 1) throw new HttpProtocolError('BAD_HEADER', 'more than one Host header (RFC 9112 §3.2)');
  // Any Transfer-Encoding field counts, even an empty one: some servers treat its presence as chunked.
  if (lengths.length > 0 && te)
    throw new HttpProtocolError('CONFLICTING_FRAMING', 'both Content-Length and Transfer-Encoding are present; send one of them (RFC 9112 §6.3)');
  if (te) {
    if (codings.length !== 1 || codings[0] !== 'chunked')
      throw new HttpProtocolError('BAD_TRANSFER_ENCODING', `unsupported Transfer-Encoding "${codings.join(', ')}"; only "chunked" is accepted`);
    return { kind: 'chunked' };
  }
  if (lengths.length === 0) return { kind: 'none' };
  if (lengths.length > 1 || !/^\d{1,15}$/.test(lengths[0]!)) throw new HttpProtocolError('BAD_CONTENT_LENGTH', `invalid Content-Length "${lengths.join(', ')}"`);
  const length = Number(lengths[0]);
  if (length > maxBodyBytes) throw new HttpProtocolError('BODY_TOO_LARGE', `request body of ${length} bytes exceeds the gateway limit of ${maxBodyBytes}`);
  return { kind: 'length', length };
}

/** Names listed in Connection (they are hop-by-hop too). */
function connectionTokens(raw: RawHeaders): Set<string> {
  const out = new Set<string>();
  for (const v of headerValues(raw, 'connection')) for (const t of v.split(',')) if (t.trim()) out.add(t.trim().toLowerCase());
  return out;
}

export interface ForwardOptions {
  /** Also drop these (lower-case) names. */
  drop?: ReadonlySet<string>;
  /** Keep `Connection: Upgrade` + `Upgrade` (an upgrade request or a 101 response). */
  upgrade?: boolean;
}

/** The end-to-end fields of a message, for the next hop. */
export function endToEndHeaders(raw: RawHeaders, opts: ForwardOptions = {}): [string, string][] {
  const listed = connectionTokens(raw);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (opts.upgrade && lower === 'upgrade') {
      out.push([name, raw[i + 1]!]);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || (listed.has(lower) && lower !== 'upgrade') || opts.drop?.has(lower)) continue;
    out.push([name, raw[i + 1]!]);
  }
  if (opts.upgrade) out.push(['Connection', 'Upgrade']);
  return out;
}

/** Serialises a request head for the recording, with the agent's credentials redacted. */
export function formatRequestHead(method: string, target: string, version: string, raw: RawHeaders): Buffer {
  let s = `${method} ${target} HTTP/${version}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    s += `${name}: ${SECRET_REQUEST_FIELDS.has(lower) ? redactCredentials(raw[i + 1]!) : raw[i + 1]}\r\n`;
  }
  return Buffer.from(`${s}\r\n`, 'latin1');
}

/** Keeps the scheme so a reader sees how the agent authenticated, never the token. */
function redactCredentials(value: string): string {
  const scheme = /^\s*([A-Za-z][A-Za-z0-9._~+-]*)\s/.exec(value)?.[1];
  return scheme ? `${scheme} [redacted]` : '[redacted]';
}

export function formatResponseHead(status: number, message: string, version: string, raw: RawHeaders): Buffer {
  let s = `HTTP/${version} ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${s}\r\n`, 'latin1');
}

/** `Host` without the port, lower-case; IPv6 brackets kept off. */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** Media type without parameters, lower-case ('' when absent). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
