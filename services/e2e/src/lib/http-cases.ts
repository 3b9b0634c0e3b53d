/**
 * The HTTP front door's smuggling and parser conformance cases (http-conformance.it.test.ts),
 * drawn from the RFC 9112 message rules (§2.2 line endings, §3 request line, §3.2 Host and
 * request-target, §5 field syntax, §6.1–6.3 body framing, §7.1 chunked coding, §9.6 close) and
 * the request-smuggling classes of the PortSwigger Web Security Academy (CL.TE, TE.CL, TE.TE
 * obfuscation, CL.0, header injection via CR/LF, HTTP/2 downgrade), plus path normalisation and
 * credential-injection cases.
 *
 * Every HTTP/1.1 case is one write on a fresh connection: a request carrying marker `m` and,
 * wherever a parser that disagreed with ours could see one, a smuggled request carrying marker
 * `s` (with the agent's token, so it would be forwarded if it were ever taken for a request).
 */

/** What a case's request is built from. */
export interface CaseInput {
  token: string;
  /** Marker of the request the agent means. */
  m: string;
  /** Marker of the smuggled request. */
  s: string;
}

export interface H1Case {
  cls: string;
  name: string;
  bytes(i: CaseInput): string;
  /** Statuses the agent may get (the first response on the connection). */
  status: number[];
  /** How many requests with marker `m` the upstream parses (default: 1 for a 2xx, else 0). */
  forwarded?: number;
}

const host = 'Host: 127.0.0.1:8443\r\n';
const auth = (t: string): string => `Authorization: Bearer ${t}\r\n`;
const head = (i: CaseInput, extra = '', method = 'POST'): string => `${method} /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}Connection: close\r\n${extra}`;
const smuggledReq = (i: CaseInput): string => `GET /api/echo/${i.s} HTTP/1.1\r\n${host}${auth(i.token)}\r\n`;
const chunk = (data: string): string => `${data.length.toString(16)}\r\n${data}\r\n`;

/** Transfer-Encoding obfuscations (PortSwigger "TE.TE": obfuscating the TE header), with what a strict proxy answers. */
const TE_VARIANTS: [string, string, number[]][] = [
  ['plain', 'Transfer-Encoding: chunked', [400]],
  ['upper case value', 'Transfer-Encoding: CHUNKED', [400]],
  ['tab before value', 'Transfer-Encoding:\tchunked', [400]],
  ['trailing space', 'Transfer-Encoding: chunked ', [400]],
  ['xchunked', 'Transfer-Encoding: xchunked', [400, 501]],
  ['chunked1', 'Transfer-Encoding: chunked1', [400, 501]],
  ['quoted', 'Transfer-Encoding: "chunked"', [400, 501]],
  ['identity, chunked', 'Transfer-Encoding: identity, chunked', [400, 501]],
  ['gzip, chunked', 'Transfer-Encoding: gzip, chunked', [400, 501]],
  ['chunked, identity', 'Transfer-Encoding: chunked, identity', [400, 501]],
  ['chunked, chunked', 'Transfer-Encoding: chunked, chunked', [400, 501]],
  ['two fields', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', [400, 501]],
  ['empty value', 'Transfer-Encoding:', [400, 501]],
  ['space before colon', 'Transfer-Encoding : chunked', [400]],
  ['obs-fold value', 'Transfer-Encoding:\r\n chunked', [400]],
  ['folded after X', 'X: x\r\n Transfer-Encoding: chunked', [400]],
  ['bare LF before', 'X: x\nTransfer-Encoding: chunked', [400]],
  ['bare CR in name line', 'X: x\rTransfer-Encoding: chunked', [400]],
  ['NUL in value', 'Transfer-Encoding: chunked\x00', [400]],
  ['vertical tab', 'Transfer-Encoding:\x0bchunked', [400]],
  ['underscore name', 'Transfer_Encoding: chunked', [200]],
  ['non-ASCII name', 'Tr\xe0nsfer-Encoding: chunked', [400]],
];

function teCases(): H1Case[] {
  const out: H1Case[] = [];
  for (const [name, te, status] of TE_VARIANTS) {
    // CL.TE: the body as Content-Length counts it holds a complete chunked body and a request.
    out.push({
      cls: 'CL.TE',
      name,
      bytes: (i) => {
        const body = `0\r\n\r\n${smuggledReq(i)}`;
        return `${head(i, `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n${te}\r\n`)}\r\n${body}`;
      },
      status,
    });
    // TE.CL: the chunked body holds the request; a Content-Length of 4 would end it early.
    out.push({
      cls: 'TE.CL',
      name,
      bytes: (i) => `${head(i, `Content-Type: text/plain\r\n${te}\r\nContent-Length: 4\r\n`)}\r\n${chunk(smuggledReq(i))}0\r\n\r\n`,
      status,
    });
  }
  // TE only (no Content-Length): these framings the gateway refuses outright (501/400), or accepts when valid.
  for (const [name, te, status] of TE_VARIANTS.filter(([n]) => !['plain', 'upper case value', 'tab before value', 'trailing space', 'underscore name'].includes(n)))
    out.push({ cls: 'TE only', name, bytes: (i) => `${head(i, `Content-Type: text/plain\r\n${te}\r\n`)}\r\n${chunk('hello')}0\r\n\r\n${smuggledReq(i)}`, status: status.includes(501) ? [501, 400] : status });
  for (const [name, te] of [['plain', 'Transfer-Encoding: chunked'], ['upper case value', 'Transfer-Encoding: CHUNKED'], ['tab before value', 'Transfer-Encoding:\tchunked'], ['trailing space', 'Transfer-Encoding: chunked ']] as const)
    out.push({ cls: 'TE only', name: `${name} (valid)`, bytes: (i) => `${head(i, `Content-Type: text/plain\r\n${te}\r\n`)}\r\n${chunk(smuggledReq(i))}0\r\n\r\n`, status: [200] });
  return out;
}

/** Content-Length variants (RFC 9112 §6.3 ¶5: several or invalid values are unrecoverable errors). */
const CL_VARIANTS: [string, (n: number) => string, number[]][] = [
  ['valid', (n) => `Content-Length: ${n}`, [200]],
  ['OWS around value', (n) => `Content-Length:  ${n} `, [200]],
  ['leading zeros', (n) => `Content-Length: 000${n}`, [200]],
  ['two equal fields', (n) => `Content-Length: ${n}\r\nContent-Length: ${n}`, [400]],
  ['two different fields', (n) => `Content-Length: ${n}\r\nContent-Length: 0`, [400]],
  ['list value', (n) => `Content-Length: ${n}, ${n}`, [400]],
  ['plus sign', (n) => `Content-Length: +${n}`, [400]],
  ['negative', () => 'Content-Length: -1', [400]],
  ['hex', (n) => `Content-Length: 0x${n.toString(16)}`, [400]],
  ['letters after digits', (n) => `Content-Length: ${n}abc`, [400]],
  ['space inside digits', (n) => `Content-Length: ${String(n)[0]} ${String(n).slice(1)}`, [400]],
  ['beyond the body limit', () => 'Content-Length: 99999999999999', [413]],
  ['more than 16 digits', () => 'Content-Length: 00000000000000000001', [400]],
  ['space before colon', (n) => `Content-Length : ${n}`, [400]],
  ['empty', () => 'Content-Length:', [400]],
];

function clCases(): H1Case[] {
  return CL_VARIANTS.map(([name, cl, status]) => ({
    cls: 'Content-Length',
    name,
    bytes: (i: CaseInput) => {
      const body = `x=${smuggledReq(i)}`;
      return `${head(i, `Content-Type: text/plain\r\n${cl(body.length)}\r\n`)}\r\n${body}`;
    },
    status,
  }));
}

/** Chunked-body cases (RFC 9112 §7.1): sizes, extensions, the CRLF after data, trailers. */
function chunkedCases(): H1Case[] {
  const te = 'Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n';
  const c = (name: string, body: (i: CaseInput) => string, status: number[]): H1Case => ({ cls: 'chunked', name, bytes: (i) => `${head(i, te)}\r\n${body(i)}`, status });
  return [
    c('size not hex', (i) => `zz\r\n${smuggledReq(i)}\r\n0\r\n\r\n`, [400]),
    c('16 f digits', (i) => `ffffffffffffffff\r\n${smuggledReq(i)}`, [400]),
    c('17 digits (leading zeros)', (i) => `0${'0'.repeat(15)}${(5).toString(16)}\r\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('2^64', () => '10000000000000000\r\nhello\r\n0\r\n\r\n', [400]),
    c('over the body limit', (i) => `fffffffffff\r\n${smuggledReq(i)}`, [400]),
    c('negative size', (i) => `-1\r\n${smuggledReq(i)}0\r\n\r\n`, [400]),
    c('0x prefix', (i) => `0x5\r\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('data longer than size', (i) => `3\r\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('chunk data holding a last-chunk and a request', (i) => `${chunk(`hi\r\n0\r\n\r\n${smuggledReq(i)}`)}0\r\n\r\n`, [200]),
    c('bare LF after size', (i) => `5\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('bare LF after data', (i) => `5\r\nhello\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('control byte in extension', (i) => `5;a=\x01\r\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400]),
    c('extension of 5 KiB', (i) => `5;${'a'.repeat(5000)}\r\nhello\r\n0\r\n\r\n${smuggledReq(i)}`, [400, 413]),
    c('valid with extension', (i) => `${chunk(smuggledReq(i)).replace('\r\n', ';name=value\r\n')}0\r\n\r\n`, [200]),
    c('valid with trailer', (i) => `${chunk(smuggledReq(i))}0\r\nX-Trailer: 1\r\n\r\n`, [200]),
    c('trailer with bare CR', (i) => `5\r\nhello\r\n0\r\nX-T: a\rX-U: b\r\n\r\n${smuggledReq(i)}`, [400]),
    c('final chunk without CRLF CRLF, request behind', (i) => `5\r\nhello\r\n0\r\n${smuggledReq(i)}`, [400]),
  ];
}

/** Request line and target (RFC 9112 §3, §3.2; PortSwigger header injection via CR/LF). */
function requestLineCases(): H1Case[] {
  const r = (name: string, bytes: (i: CaseInput) => string, status: number[]): H1Case => ({ cls: 'request line', name, bytes, status });
  const rest = (i: CaseInput): string => `${host}${auth(i.token)}Connection: close\r\n\r\n`;
  return [
    r('CR LF in the target (HTTP/0.9)', (i) => `GET /api/echo/${i.m}\r\nX-Injected: 1 HTTP/1.1\r\n${rest(i)}`, [400]),
    r('bare LF ending the request line', (i) => `GET /api/echo/${i.m} HTTP/1.1\n${rest(i)}`, [400]),
    r('NUL in the target', (i) => `GET /api/echo/${i.m}\x00x HTTP/1.1\r\n${rest(i)}`, [400]),
    r('tab in the target', (i) => `GET /api/echo/${i.m}\tx HTTP/1.1\r\n${rest(i)}`, [400]),
    r('space in the target', (i) => `GET /api/echo/${i.m} x HTTP/1.1\r\n${rest(i)}`, [400]),
    r('two spaces after the method', (i) => `GET  /api/echo/${i.m} HTTP/1.1\r\n${rest(i)}`, [400]),
    r('trailing space after the version', (i) => `GET /api/echo/${i.m} HTTP/1.1 \r\n${rest(i)}`, [400, 505]),
    r('absolute-form', (i) => `GET https://127.0.0.1:8443/api/echo/${i.m} HTTP/1.1\r\n${rest(i)}`, [400]),
    r('absolute-form to another host', (i) => `GET http://127.0.0.1:18082/echo/${i.m} HTTP/1.1\r\n${rest(i)}`, [400]),
    r('asterisk-form', (i) => `OPTIONS * HTTP/1.1\r\n${rest(i)}`, [400]),
    r('authority-form CONNECT', (i) => `CONNECT 127.0.0.1:18082 HTTP/1.1\r\n${rest(i)}`, [400]),
    r('HTTP/0.9 request', (i) => `GET /api/echo/${i.m}\r\n\r\n`, [400]),
    r('HTTP/1.2', (i) => `GET /api/echo/${i.m} HTTP/1.2\r\n${rest(i)}`, [505, 400]),
    r('HTTP/2.0 over HTTP/1', (i) => `GET /api/echo/${i.m} HTTP/2.0\r\n${rest(i)}`, [505, 400]),
    r('lower-case version', (i) => `GET /api/echo/${i.m} http/1.1\r\n${rest(i)}`, [400]),
    r('invalid method token', (i) => `G(ET /api/echo/${i.m} HTTP/1.1\r\n${rest(i)}`, [400]),
    r('fragment in the target', (i) => `GET /api/echo/${i.m}#frag HTTP/1.1\r\n${rest(i)}`, [400]),
    r('empty line before the request line (ignored)', (i) => `\r\nGET /api/echo/${i.m} HTTP/1.1\r\n${rest(i)}`, [200]),
    r('target over the head limit', (i) => `GET /api/echo/${i.m}/${'a'.repeat(17_000)} HTTP/1.1\r\n${rest(i)}`, [431]),
  ];
}

/** Host (RFC 9110 §7.2, RFC 9112 §3.2: exactly one, host[:port]). */
function hostCases(): H1Case[] {
  const h = (name: string, hostLines: string, status: number[]): H1Case => ({ cls: 'Host', name, bytes: (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${hostLines}${auth(i.token)}Connection: close\r\n\r\n`, status });
  return [
    h('missing', '', [400]),
    h('twice', 'Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n', [400]),
    h('with a path', 'Host: 127.0.0.1/git/\r\n', [400]),
    h('with userinfo', 'Host: user@127.0.0.1:18081\r\n', [400]),
    h('with a space', 'Host: 127.0.0.1 evil\r\n', [400]),
    h('empty', 'Host: \r\n', [400]),
    h('port out of range', 'Host: 127.0.0.1:70000\r\n', [400]),
    h('list', 'Host: 127.0.0.1, evil.example\r\n', [400]),
    h('percent-encoded', 'Host: 127%2e0.0.1\r\n', [400]),
    h('unclosed IPv6 literal', 'Host: [::1\r\n', [400]),
    h('IPv6 literal with port', 'Host: [::1]:8443\r\n', [200]),
    h('name with port', 'Host: localhost:8443\r\n', [200]),
  ];
}

/** Field syntax (RFC 9112 §5, RFC 9110 §5.5) and the head limits. */
function fieldCases(): H1Case[] {
  const f = (name: string, extra: (i: CaseInput) => string, status: number[]): H1Case => ({ cls: 'fields', name, bytes: (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}${extra(i)}Connection: close\r\n\r\n`, status });
  return [
    f('space before colon', () => 'X-A : a\r\n', [400]),
    f('obs-fold', () => 'X-A: a\r\n b\r\n', [400]),
    f('bare CR in a value (injected field)', (i) => `X-A: a\rGET /api/echo/${i.s} HTTP/1.1\r\n`, [400]),
    f('NUL in a value', () => 'X-A: a\x00b\r\n', [400]),
    f('DEL in a value', () => 'X-A: a\x7fb\r\n', [400]),
    f('space in a name', () => 'X A: a\r\n', [400]),
    f('separator in a name', () => 'X(A): a\r\n', [400]),
    f('empty name', () => ': a\r\n', [400]),
    f('obs-text in a value (accepted)', () => 'X-A: caf\xe9\r\n', [200]),
    f('10 000 minimal fields', () => 'a:\r\n'.repeat(10_000), [431]),
    f('101 fields', () => 'a: 1\r\n'.repeat(101), [431]),
    f('95 fields (accepted)', () => 'a: 1\r\n'.repeat(95), [200]),
    f('one 17 KiB field', () => `X-Big: ${'a'.repeat(17_000)}\r\n`, [431]),
    f('head of 15 KiB (accepted)', (i) => `X-Big: ${'a'.repeat(14_500 - i.token.length)}\r\n`, [200]),
  ];
}

/** Path normalisation: what an upstream decoding twice or dropping `;` parameters would read as `..`. */
function pathCases(): H1Case[] {
  const p = (name: string, path: (i: CaseInput) => string, status: number[]): H1Case => ({ cls: 'path', name, bytes: (i) => `GET ${path(i)} HTTP/1.1\r\n${host}${auth(i.token)}Connection: close\r\n\r\n`, status });
  const segs: [string, string][] = [
    ['dot-dot', '..'],
    ['encoded dot-dot', '%2e%2e'],
    ['mixed-case encoded dot-dot', '%2E.'],
    ['double-encoded dot-dot', '%252e%252e'],
    ['triple-encoded dot-dot', '%25252e%25252e'],
    ['dot-dot double-encoded slash', '..%252f'],
    ['overlong UTF-8 dots', '%c0%ae%c0%ae'],
    ['3-byte overlong dot', '%e0%80%ae%e0%80%ae'],
    ['dot-dot with ; parameter', '..;'],
    ['dot with ; parameter', '.;x=1'],
    ['encoded dot-dot with ; parameter', '%2e%2e;jsessionid=1'],
    ['encoded slash', 'a%2f..'],
    ['encoded backslash', '..%5c'],
    ['double-encoded backslash', '..%255c'],
    ['encoded NUL', 'a%00'],
    ['invalid escape', 'a%zz'],
  ];
  const out = segs.map(([name, seg]) => p(name, (i) => `/api/${seg}/echo/${i.m}`, [400]));
  out.push(p('raw backslash', (i) => `/api/..\\echo/${i.m}`, [400]));
  out.push(p('empty segment', (i) => `/api//echo/${i.m}`, [400]));
  out.push(p('; in a git path', (i) => `/git/demo.git;x/info/refs?m=${i.m}`, [400]));
  out.push(p('%25 in an OCI path', (i) => `/v2/demo%2541/manifests/${i.m}`, [400]));
  out.push(p('; in a Kubernetes path', (i) => `/k8s/api/v1/namespaces;x/pods?m=${i.m}`, [400]));
  out.push(p('matrix parameter on a REST path (accepted)', (i) => `/api/echo/${i.m};v=1`, [200]));
  return out;
}

/** Credential injection: the agent's copies never reach the upstream (the JSON API refuses anything but the injected key). */
function credentialCases(): H1Case[] {
  const c = (name: string, extra: string): H1Case => ({ cls: 'credentials', name, bytes: (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}${extra}Connection: close\r\n\r\n`, status: [200] });
  return [
    c('agent X-Api-Key', 'X-Api-Key: agent-key\r\n'),
    c('two agent X-Api-Key fields, other case', 'x-api-key: a\r\nX-API-KEY: b\r\n'),
    c('agent Proxy-Authorization', 'Proxy-Authorization: Basic YTpi\r\n'),
    c('agent Cookie', 'Cookie: session=agent\r\n'),
    c('second Authorization', 'Authorization: Bearer other\r\n'),
  ];
}

/** After a refusal, nothing on the connection is served (and a request after "close" is not either). */
function pipelineCases(): H1Case[] {
  const after = (name: string, first: (i: CaseInput) => string, status: number[]): H1Case => ({ cls: 'pipelining', name, bytes: (i) => `${first(i)}${smuggledReq(i)}`, status, forwarded: status[0] === 200 ? 1 : 0 });
  return [
    after('after a 400 path traversal', (i) => `GET /api/../echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}\r\n`, [400]),
    after('after a 401 bad token', (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}Authorization: Bearer x.y.z\r\n\r\n`, [401]),
    after('after a 401 missing token', (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}\r\n`, [401]),
    after('after a 404 no route', (i) => `GET /nowhere/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}\r\n`, [404]),
    after('after a 413 body too large', (i) => `POST /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}Content-Length: 99999999999999\r\n\r\n`, [413]),
    after('after a 501 transfer coding', (i) => `POST /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}Transfer-Encoding: gzip\r\n\r\n`, [501, 400]),
    after('after Connection: close', (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}Connection: close\r\n\r\n`, [200]),
    after('after an HTTP/1.0 request', (i) => `GET /api/echo/${i.m} HTTP/1.0\r\n${host}${auth(i.token)}\r\n`, [200]),
    after('CL.0: a GET whose body is a request', (i) => `GET /api/echo/${i.m} HTTP/1.1\r\n${host}${auth(i.token)}Connection: close\r\nContent-Length: ${smuggledReq(i).length}\r\n\r\n`, [200]),
  ];
}

export function h1Cases(): H1Case[] {
  return [...teCases(), ...clCases(), ...chunkedCases(), ...requestLineCases(), ...hostCases(), ...fieldCases(), ...pathCases(), ...credentialCases(), ...pipelineCases()];
}

/** HTTP/2 cases (RFC 9113 §8.2, §8.3; PortSwigger "HTTP/2 downgrading"): the head the gateway turns into HTTP/1.1. */
export interface H2Case {
  cls: string;
  name: string;
  headers(i: CaseInput): Record<string, string | string[]>;
  body?: (i: CaseInput) => string;
  /** Statuses accepted; 0 means the stream or session was reset instead. */
  status: number[];
}

export function h2Cases(): H2Case[] {
  const base = (i: CaseInput, path = `/api/echo/${i.m}`, method = 'GET'): Record<string, string> => ({ ':method': method, ':path': path, authorization: `Bearer ${i.token}` });
  const many = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, k) => [`x-f${k}`, '1']));
  return [
    { cls: 'h2', name: 'valid', headers: (i) => base(i), status: [200] },
    { cls: 'h2', name: 'path traversal', headers: (i) => base(i, `/api/../echo/${i.m}`), status: [400] },
    { cls: 'h2', name: 'double-encoded dot-dot', headers: (i) => base(i, `/api/%252e%252e/echo/${i.m}`), status: [400] },
    { cls: 'h2', name: 'overlong UTF-8 dots', headers: (i) => base(i, `/api/%c0%ae%c0%ae/echo/${i.m}`), status: [400] },
    { cls: 'h2', name: 'dot-dot with ; parameter', headers: (i) => base(i, `/api/..;/echo/${i.m}`), status: [400] },
    { cls: 'h2', name: 'absolute :path', headers: (i) => base(i, `https://127.0.0.1:8443/api/echo/${i.m}`), status: [400, 0] },
    { cls: 'h2', name: ':authority with userinfo', headers: (i) => ({ ...base(i), ':authority': 'user@localhost' }), status: [400, 0] },
    { cls: 'h2', name: ':authority with a path', headers: (i) => ({ ...base(i), ':authority': 'localhost/git/' }), status: [400, 0] },
    { cls: 'h2', name: 'encoded NUL in :path', headers: (i) => base(i, `/api/echo/${i.m}%00`), status: [400] },
    { cls: 'h2', name: '150 fields', headers: (i) => ({ ...base(i), ...many(150) }), status: [431, 0] },
    { cls: 'h2', name: 'header list over 16 KiB', headers: (i) => ({ ...base(i), 'x-big': 'a'.repeat(17_000) }), status: [431, 0] },
    { cls: 'h2', name: 'agent x-api-key (downgrade keeps only the injected one)', headers: (i) => ({ ...base(i), 'x-api-key': 'agent-key' }), status: [200] },
    { cls: 'h2', name: 'content-length smaller than the body', headers: (i) => ({ ...base(i, `/api/echo/${i.m}`, 'POST'), 'content-length': '2', 'content-type': 'text/plain' }), body: (i) => `ab${'GET /api/echo/'}${i.s} HTTP/1.1\r\n\r\n`, status: [400, 0] },
    { cls: 'h2', name: 'body holding an HTTP/1.1 request', headers: (i) => ({ ...base(i, `/api/echo/${i.m}`, 'POST'), 'content-type': 'text/plain' }), body: (i) => `0\r\n\r\nGET /api/echo/${i.s} HTTP/1.1\r\nHost: x\r\n\r\n`, status: [200] },
  ];
}
