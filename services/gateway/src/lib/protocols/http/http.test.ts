import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseAgentAuthorization } from './auth.js';
import { BodyCapture, bodyStoreFor } from './body.js';
import { HttpProtocolError } from './errors.js';
import { checkRequestHead, endToEndHeaders, formatRequestHead, hostName } from './headers.js';
import { parseQuery, restCommand } from './rest.js';
import { selectRoute } from './route.js';
import { checkHost } from './host.js';
import { checkPathForKind, parseTarget } from './target.js';
import { WsFrameReader } from './websocket.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof HttpProtocolError, String(err));
    return err.code;
  }
};

describe('request targets', () => {
  it('splits path and query and decodes segments', () => {
    assert.deepEqual(parseTarget('/v2/team%2Dx/app/manifests/v1?x=1&y', 'GET'), { path: '/v2/team%2Dx/app/manifests/v1', query: 'x=1&y', segments: ['v2', 'team-x', 'app', 'manifests', 'v1'] });
    assert.deepEqual(parseTarget('/', 'GET').segments, []);
    assert.deepEqual(parseTarget('/a/', 'GET').segments, ['a']);
    assert.deepEqual(parseTarget('/api/100%25/x;v=1', 'GET').segments, ['api', '100%', 'x;v=1']);
  });

  it('accepts only origin-form (RFC 9112 §3.2.1)', () => {
    for (const t of ['*', 'http://example.com/x?q', 'example.com:443', '//x/y']) assert.ok(code(() => parseTarget(t, 'OPTIONS')), t);
  });

  it('decides on the fully decoded path', () => {
    for (const t of ['/a/%252e%252e/b', '/a/..%252f', '/a/%25252e%25252e/b', '/a/..;/b', '/a/.;x=1/b', '/a/%2e%2e;/b', '/a/%255c', '/a/%2500', '/a/%2525252e'])
      assert.equal(code(() => parseTarget(t, 'GET')), 'PATH_TRAVERSAL', t);
    for (const t of ['/a/%c0%ae%c0%ae/b', '/a/%e0%80%ae', '/a/%ff', '/a/%252525252e'])
      assert.equal(code(() => parseTarget(t, 'GET')), 'BAD_TARGET', t);
    assert.doesNotThrow(() => parseTarget('/a/%25zz/b%20c', 'GET'));
    assert.equal(code(() => checkPathForKind('/v2/app;x/manifests/1', 'oci')), 'PATH_TRAVERSAL');
    assert.equal(code(() => checkPathForKind('/repo.git/%2541', 'git')), 'PATH_TRAVERSAL');
    assert.equal(code(() => checkPathForKind('/api/v1/pods;x', 'k8s')), 'PATH_TRAVERSAL');
    assert.equal(code(() => checkPathForKind('/items;v=1', 'rest')), undefined);
  });

  it('accepts only host[:port] as Host (RFC 9110 §7.2)', () => {
    for (const h of ['x', 'a.example.com', 'a.example.com:8443', '127.0.0.1', '127.0.0.1:18081', '[::1]', '[::1]:443', 'under_score']) assert.equal(checkHost(h), undefined, h);
    for (const h of ['', '127.0.0.1/git/', 'user@127.0.0.1:18081', 'a b', 'a:b:c', 'a:99999', 'a:', '[::1', 'a%2eb', 'a,b', 'a\\b', 'a?b', 'a#b'])
      assert.equal(checkHost(h)?.code, 'BAD_HOST', h);
  });

  it('refuses traversal and ambiguity', () => {
    for (const t of ['/a/../b', '/a/./b', '/a/%2e%2e/b', '/a/%2E./b', '/a/.%2e', '/a%2fb', '/a%5Cb', '/a%00b', '/a//b', '/..'])
      assert.equal(code(() => parseTarget(t, 'GET')), 'PATH_TRAVERSAL', t);
    for (const t of ['a/b', '/a b', '/a\\b', '/a%zz', '/a%4', '/a"b', '/a<b', '*'])
      assert.equal(code(() => parseTarget(t, 'GET')), 'BAD_TARGET', t);
    assert.equal(code(() => parseTarget('/a?b#c', 'GET')), 'BAD_TARGET');
  });
});

describe('request heads', () => {
  const h = (...kv: string[]): string[] => kv;
  it('returns the framing', () => {
    assert.deepEqual(checkRequestHead(h('Host', 'x'), 100), { kind: 'none' });
    assert.deepEqual(checkRequestHead(h('Host', 'x', 'Content-Length', '12'), 100), { kind: 'length', length: 12 });
    assert.deepEqual(checkRequestHead(h('Host', 'x', 'Transfer-Encoding', 'Chunked'), 100), { kind: 'chunked' });
  });
  it('refuses smuggling and injection vectors (RFC 9112 §6.3)', () => {
    assert.equal(code(() => checkRequestHead(h('Content-Length', '5', 'Transfer-Encoding', 'chunked'), 100)), 'CONFLICTING_FRAMING');
    assert.equal(code(() => checkRequestHead(h('Content-Length', '5', 'Content-Length', '6'), 100)), 'BAD_CONTENT_LENGTH');
    assert.equal(code(() => checkRequestHead(h('Content-Length', '5, 5'), 100)), 'BAD_CONTENT_LENGTH');
    assert.equal(code(() => checkRequestHead(h('Content-Length', '-1'), 100)), 'BAD_CONTENT_LENGTH');
    assert.equal(code(() => checkRequestHead(h('Content-Length', '0x10'), 100)), 'BAD_CONTENT_LENGTH');
    assert.equal(code(() => checkRequestHead(h('Transfer-Encoding', 'chunked, gzip'), 100)), 'BAD_TRANSFER_ENCODING');
    assert.equal(code(() => checkRequestHead(h('Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'), 100)), 'BAD_TRANSFER_ENCODING');
    assert.equal(code(() => checkRequestHead(h('X-A', 'a\r\nInjected: 1'), 100)), 'BAD_HEADER');
    assert.equal(code(() => checkRequestHead(h('X A', 'a'), 100)), 'BAD_HEADER');
    assert.equal(code(() => checkRequestHead(h('Host', 'a', 'host', 'b'), 100)), 'BAD_HEADER');
    assert.equal(code(() => checkRequestHead(h('Content-Length', '101'), 100)), 'BODY_TOO_LARGE');
  });
  it('drops hop-by-hop fields, also those Connection names (RFC 9110 §7.6.1)', () => {
    const out = endToEndHeaders(h('Connection', 'keep-alive, X-Secret-Hop', 'Keep-Alive', '5', 'X-Secret-Hop', '1', 'TE', 'trailers', 'Upgrade', 'h2c', 'Accept', '*/*', 'Authorization', 'Bearer t'), { drop: new Set(['authorization']) });
    assert.deepEqual(out, [['Accept', '*/*']]);
    assert.deepEqual(endToEndHeaders(h('Connection', 'Upgrade', 'Upgrade', 'websocket'), { upgrade: true }), [['Upgrade', 'websocket'], ['Connection', 'Upgrade']]);
  });
  it('redacts credentials in the recorded head, keeping the scheme', () => {
    const head = formatRequestHead('GET', '/x', '1.1', h('Host', 'a', 'Authorization', 'Bearer abc.def.ghi', 'Proxy-Authorization', 'secret')).toString();
    assert.equal(head, 'GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer [redacted]\r\nProxy-Authorization: [redacted]\r\n\r\n');
  });
  it('reads host names', () => {
    assert.equal(hostName('Git.Example:8443'), 'git.example');
    assert.equal(hostName('[::1]:8443'), '::1');
    assert.equal(hostName(undefined), '');
  });
});

describe('agent credentials', () => {
  it('reads Bearer and Basic (token as password, or as user with an empty password)', () => {
    assert.deepEqual(parseAgentAuthorization('Bearer a.b.c'), { scheme: 'bearer', token: 'a.b.c', username: '' });
    assert.equal(parseAgentAuthorization(`Basic ${Buffer.from('agent:a.b.c').toString('base64')}`).token, 'a.b.c');
    assert.equal(parseAgentAuthorization(`basic ${Buffer.from('a.b.c:').toString('base64')}`).token, 'a.b.c');
  });
  it('says what is wrong', () => {
    assert.equal(code(() => parseAgentAuthorization(undefined)), 'MISSING_CREDENTIALS');
    assert.equal(code(() => parseAgentAuthorization('Digest x')), 'BAD_AUTHORIZATION');
    assert.equal(code(() => parseAgentAuthorization('Bearer a b')), 'BAD_AUTHORIZATION');
    assert.equal(code(() => parseAgentAuthorization('Basic !!!')), 'BAD_AUTHORIZATION');
    assert.equal(code(() => parseAgentAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`)), 'BAD_AUTHORIZATION');
    assert.equal(code(() => parseAgentAuthorization(`Basic ${Buffer.from(':').toString('base64')}`)), 'MISSING_CREDENTIALS');
  });
});

describe('routing', () => {
  const routes = [
    { hosts: [], prefix: '/git/', value: 'git' },
    { hosts: [], prefix: '/git/special/', value: 'special' },
    { hosts: ['registry.local'], prefix: undefined, value: 'registry' },
    { hosts: [], prefix: '/v2/', value: 'v2' },
  ];
  it('prefers the host, then the longest prefix, and strips the prefix', () => {
    assert.deepEqual(selectRoute(routes, 'x', '/git/a.git/info/refs'), { value: 'git', rest: '/a.git/info/refs', prefix: '/git/' });
    assert.equal(selectRoute(routes, 'x', '/git/special/r')?.value, 'special');
    assert.equal(selectRoute(routes, 'registry.local', '/v2/')?.value, 'registry');
    assert.equal(selectRoute(routes, 'x', '/v2/')?.value, 'v2');
    assert.deepEqual(selectRoute(routes, 'x', '/git'), { value: 'git', rest: '/', prefix: '/git/' });
    assert.equal(selectRoute(routes, 'x', '/gitx/a'), undefined);
    assert.equal(selectRoute(routes, 'x', '/other'), undefined);
  });
});

describe('body capture', () => {
  const rules = { maxStoredBytes: 10, rules: [{ pattern: 'application/*+json', store: 'full' as const }, { pattern: 'text/*', store: 'full' as const }], fallback: 'digest' as const };
  it('picks the rule by media type, parameters ignored', () => {
    assert.equal(bodyStoreFor('application/vnd.oci.image.manifest.v1+json; charset=utf-8', rules), 'full');
    assert.equal(bodyStoreFor('TEXT/Plain', rules), 'full');
    assert.equal(bodyStoreFor('application/octet-stream', rules), 'digest');
    assert.equal(bodyStoreFor(undefined, rules), 'digest');
  });
  it('stores a prefix and digests everything', () => {
    const c = new BodyCapture('full', 10);
    assert.equal(c.take(Buffer.from('0123456')).toString(), '0123456');
    assert.equal(c.take(Buffer.from('789abc')).toString(), '789');
    assert.equal(c.take(Buffer.from('def')).length, 0);
    const s = c.summary();
    assert.deepEqual(s, { store: 'full', bytes: 16, storedBytes: 10, sha256: createHash('sha256').update('0123456789abcdef').digest('hex') });
    assert.equal(c.summary(), s);
    assert.equal(new BodyCapture('none', 10).summary().sha256, '');
  });
});

describe('REST commands', () => {
  it('carries method, path, query and content type', () => {
    const c = restCommand('POST', parseTarget('/api/orders?dry=1&tag=a&tag=b', 'POST'), 'application/json; charset=utf-8');
    assert.equal(c.text, 'POST /api/orders?dry=1&tag=a&tag=b');
    assert.deepEqual(c.details, { method: 'POST', path: '/api/orders', query: { dry: ['1'], tag: ['a', 'b'] }, contentType: 'application/json' });
    assert.equal(Object.keys(parseQuery(Array.from({ length: 1000 }, (_, i) => `k${i}=v`).join('&'))).length, 256);
  });
});

describe('WebSocket frames', () => {
  const frame = (opcode: number, payload: Buffer, mask: boolean, fin = true): Buffer => {
    const len = payload.length;
    const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | len]) : len < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | 127]), Buffer.from([0, 0, 0, 0, (len >>> 24) & 255, (len >> 16) & 255, (len >> 8) & 255, len & 255])]);
    return Buffer.concat([head, mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), payload]);
  };
  const stream = Buffer.concat([frame(1, Buffer.from('hello'), true), frame(2, Buffer.alloc(300, 7), false), frame(9, Buffer.from('p'), true), frame(2, Buffer.alloc(70_000, 1), true), frame(8, Buffer.from([3, 232]), false)]);

  it('splits at every byte offset into the same frames', () => {
    const whole = new WsFrameReader(1 << 20).push(stream).frames.map((f) => [f.opcode, f.payloadLength, f.raw.length]);
    assert.equal(whole.length, 5);
    for (let i = 1; i < stream.length; i += i < 400 ? 1 : 997) {
      const r = new WsFrameReader(1 << 20);
      const got = [...r.push(stream.subarray(0, i)).frames, ...r.push(stream.subarray(i)).frames].map((f) => [f.opcode, f.payloadLength, f.raw.length]);
      assert.deepEqual(got, whole, `split at ${i}`);
      assert.equal(r.bufferedBytes, 0);
    }
  });

  it('refuses reserved opcodes, oversized frames and fragmented control frames', () => {
    assert.equal(new WsFrameReader(100).push(Buffer.from([0x83, 0])).error?.code, 'BAD_FRAME');
    assert.equal(new WsFrameReader(100).push(frame(2, Buffer.alloc(101), false)).error?.code, 'BAD_FRAME');
    assert.equal(new WsFrameReader(100).push(frame(9, Buffer.alloc(1), false, false)).error?.code, 'BAD_FRAME');
    assert.equal(new WsFrameReader(1 << 30).push(Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0])).error?.code, 'BAD_FRAME');
  });
});
