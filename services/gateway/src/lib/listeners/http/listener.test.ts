import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Command, Decision, EventBody, Frame, SessionEnded } from '@chaperone/events';
import { frames, get, rawRequest, settle, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const SECRET = 'upstream-secret-0123456789';

describe('HTTP listener (REST)', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;

  before(async () => {
    up = await startUpstream((r, res) => {
      if (r.url.startsWith('/base/redirect')) {
        res.writeHead(302, { Location: `${up.url}/base/elsewhere?x=1` });
        return res.end();
      }
      if (r.url.startsWith('/base/big')) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        return res.end(Buffer.alloc(3 * 1024 * 1024, 7));
      }
      res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'keep-alive, X-Hop', 'X-Hop': 'drop-me', 'Keep-Alive': 'timeout=5' });
      res.end(JSON.stringify({ method: r.method, url: r.url, length: r.body.length }));
    });
    h = await startHarness(
      [
        {
          name: 'api',
          protocol: 'http',
          labels: { env: 'test' },
          http: { upstream: `${up.url}/base`, pathPrefix: '/api', credentials: { type: 'bearer', token: { value: SECRET } } },
        },
      ],
      (input) => (input.command.text.includes('/forbidden') ? { result: 'deny', reasons: ['no forbidden things (policy: test)'] } : { result: 'allow', reasons: [] }),
    );
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('forwards with injected credentials, strips hop-by-hop headers and records the exchange', async () => {
    const res = await get(`${h.base}/api/items?q=1`, { Authorization: `Bearer ${token}`, 'X-Custom': 'kept', TE: 'trailers', Connection: 'TE' });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { url: string };
    assert.equal(body.url, '/base/items?q=1');
    assert.equal(res.headers['x-hop'], undefined, 'a field named in Connection is hop-by-hop');
    assert.equal(res.headers['keep-alive'] === 'timeout=5', false);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');

    const events = await settle(h, (e) => frames(e, 'http.response.body').length > 0);
    const cmd = events.find((e): e is Command => e.type === 'Command')!;
    assert.equal(cmd.protocol, 'http');
    assert.equal(cmd.action, 'GET');
    assert.equal(cmd.text, 'GET /api/items?q=1');
    assert.deepEqual(JSON.parse(cmd.detailsJson), { method: 'GET', path: '/api/items', query: { q: ['1'] }, contentType: '' });
    assert.equal(events.find((e): e is Decision => e.type === 'Decision')!.result, 'ALLOW');
    const head = frames(events, 'http.request.head')[0]!.bytes.toString();
    assert.match(head, /^GET \/api\/items\?q=1 HTTP\/1\.1\r\n/);
    assert.match(head, /Authorization: Bearer \[redacted\]/);
    assert.match(frames(events, 'http.response.head')[0]!.bytes.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    // The request and its response belong to the request's Command (events v3: frame_commands in
    // the store), the request's frames although they are recorded before it.
    for (const f of [...frames(events, 'http.request.head'), ...frames(events, 'http.response.head'), ...frames(events, 'http.response.body')]) assert.deepEqual(f.commandIds, [cmd.commandId]);
    assert.equal(h.decisions.at(-1)!.command.protocol, 'http');
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes(token), 'the agent token never reaches an event');
    assert.ok(!all.includes(SECRET), 'the upstream credential never reaches an event');
  });

  it('accepts the token as the Basic password and keeps one session per connection', async () => {
    const before = h.sink.bodies().filter((e) => e.type === 'SessionStarted').length;
    const basic = Buffer.from(`x-token:${token}`).toString('base64');
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const r = request(`${h.base}/api/k${i}`, { agent, headers: { Authorization: `Basic ${basic}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        r.on('error', reject);
        r.end();
      });
      assert.equal(status, 200);
    }
    agent.destroy();
    const events = await settle(h, (e) => e.filter((x) => x.type === 'SessionEnded').length >= 2);
    assert.equal(events.filter((e) => e.type === 'SessionStarted').length, before + 1, 'keep-alive requests share the session');
    const ended = events.filter((e): e is SessionEnded => e.type === 'SessionEnded').at(-1)!;
    assert.equal(ended.counters.commands, 3);
    assert.equal(ended.signature.length, 64);
  });

  it('answers 401 with a Basic challenge when the token is missing or bad; nothing goes upstream', async () => {
    const n = up.seen.length;
    const none = await fetch(`${h.base}/api/x`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="chaperone"/);
    assert.match(await none.text(), /chaperone: authenticate with/);
    const bad = await fetch(`${h.base}/api/x`, { headers: { Authorization: 'Bearer abc.def.ghi' } });
    assert.equal(bad.status, 401);
    assert.equal(up.seen.length, n);
  });

  it('refuses what the policy denies with the reason', async () => {
    const n = up.seen.length;
    const res = await fetch(`${h.base}/api/forbidden`, { method: 'POST', body: '{"a":1}', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /chaperone: denied by policy: no forbidden things \(policy: test\)/);
    assert.equal(up.seen.length, n);
    const events = await settle(h, (e) => e.some((x) => x.type === 'Decision' && x.result === 'DENY'));
    const denied = events.find((e): e is Decision => e.type === 'Decision' && e.result === 'DENY')!;
    const body = events.find((e): e is Frame => e.type === 'Frame' && e.messageType === 'http.request.body' && e.bytes.toString() === '{"a":1}');
    assert.deepEqual(body?.commandIds, [denied.commandId], 'the refused request body belongs to its Command');
  });

  it('answers 404 for a path no connection serves', async () => {
    const res = await fetch(`${h.base}/nope`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404);
  });

  it('streams a large chunked body upstream and records it as size + digest', async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = request(`${h.base}/api/upload`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      r.on('error', reject);
      for (let i = 0; i < payload.length; i += 100_000) r.write(payload.subarray(i, i + 100_000));
      r.end();
    });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { length: number }).length, payload.length);
    assert.ok(up.seen.at(-1)!.body.equals(payload));
    const events = await settle(h, (e) => frames(e, 'http.request.body.end').some((f) => f.bytes.includes(payload.length.toString())));
    const end = frames(events, 'http.request.body.end').find((f) => f.bytes.includes(payload.length.toString()))!;
    const summary = JSON.parse(end.bytes.toString()) as { bytes: number; sha256: string; store: string };
    assert.equal(summary.store, 'digest');
    assert.equal(summary.sha256, createHash('sha256').update(payload).digest('hex'));
    assert.equal(frames(events, 'http.request.body').filter((f) => f.bytes.length > 100_000).length, 0, 'digest storage keeps no body bytes');
    const put = events.findLast((e): e is Command => e.type === 'Command' && e.action === 'PUT')!;
    assert.deepEqual(end.commandIds, [put.commandId], 'a streamed body belongs to its Command');
  });

  it('relays a large response with bounded recording and rewrites upstream redirects', async () => {
    const big = await fetch(`${h.base}/api/big`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal((await big.arrayBuffer()).byteLength, 3 * 1024 * 1024);
    const redirect = await fetch(`${h.base}/api/redirect`, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), `${h.base}/api/elsewhere?x=1`);
  });

  it('waits for authentication before answering Expect: 100-continue', async () => {
    const reply = await rawRequest(h.port, `PUT /api/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`, 500);
    assert.match(reply, /^HTTP\/1\.1 401 /);
    assert.doesNotMatch(reply, /100 Continue/);
    const ok = await rawRequest(h.port, `PUT /api/e HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`, 1500);
    assert.match(ok, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    assert.equal(up.seen.at(-1)!.body.toString(), 'hello');
    assert.equal(up.seen.at(-1)!.headers.expect, undefined);
  });
});

describe('HTTP listener refuses malformed requests before the upstream', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  before(async () => {
    up = await startUpstream((_r, res) => res.end('ok'));
    h = await startHarness([{ name: 'api', protocol: 'http', http: { upstream: up.url, pathPrefix: '/api/' } }], undefined, { maxHeaderBytes: '4KiB' });
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  const cases: [string, () => string, RegExp][] = [
    ['Content-Length with Transfer-Encoding', () => `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['two Content-Length values', () => `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, /^HTTP\/1\.1 400 /],
    ['bad chunk size', () => `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['chunk without its CRLF', () => `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['gzip transfer coding', () => `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, /^HTTP\/1\.1 (400|501) /],
    ['bare LF inside a header value (injection)', () => `GET /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-A: a\rInjected: yes\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['space before the colon', () => `GET /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-A : a\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['two Host headers', () => `GET /api/a HTTP/1.1\r\nHost: x\r\nHost: y\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['dot-dot in the path', () => `GET /api/../admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['percent-encoded dot-dot', () => `GET /api/%2e%2E/admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['encoded slash', () => `GET /api/a%2F..%2Fadmin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['backslash', () => `GET /api/..\\admin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['oversized headers', () => `GET /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ['no Host header', () => `GET /api/a HTTP/1.1\r\nAuthorization: Bearer ${token}\r\n\r\n`, /^HTTP\/1\.1 400 /],
    ['HTTP/1.0 obs-fold', () => `GET /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-A: a\r\n folded\r\n\r\n`, /^HTTP\/1\.1 400 /],
  ];
  for (const [name, bytes, expect] of cases) {
    it(name, async () => {
      const n = up.seen.length;
      const reply = await rawRequest(h.port, bytes(), 800);
      assert.match(reply, expect, reply.slice(0, 200));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(up.seen.length, n, 'the upstream saw nothing');
    });
  }

  it('a refusal answered while the agent still sends its body arrives whole: the close lingers, no reset', async () => {
    const n = up.seen.length;
    const { reply, error } = await new Promise<{ reply: string; error?: string }>((resolve) => {
      // Like a proxy in front (haproxy), the sender goes on sending after the answer's FIN.
      const s = connect({ port: h.port, host: '127.0.0.1', allowHalfOpen: true });
      const out: Buffer[] = [];
      let error: string | undefined;
      s.on('data', (c: Buffer) => out.push(c));
      s.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
      s.on('close', () => resolve({ reply: Buffer.concat(out).toString('latin1'), error }));
      s.write(`POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n`);
      s.end(Buffer.alloc(8 * 1024 * 1024, 'x'));
    });
    assert.match(reply, /^HTTP\/1\.1 400 /, reply.slice(0, 200));
    assert.equal(error, undefined, 'the connection was reset instead of closed');
    assert.equal(up.seen.length, n, 'the upstream saw nothing');
  });

  it('a body cut by bad chunking after the first 64 KiB never completes upstream', async () => {
    const n = up.seen.length;
    const big = 'a'.repeat(70_000);
    const reply = await rawRequest(h.port, `POST /api/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\nnothex\r\n`, 800);
    assert.match(reply, /^HTTP\/1\.1 400 |^$/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(up.seen.length, n, 'the upstream never got a complete request');
  });
});

describe('HTTP listener: a keep-alive connection ends with its token', () => {
  let up: Upstream;
  let h: Harness;

  before(async () => {
    up = await startUpstream((_r, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    h = await startHarness([{ name: 'api', protocol: 'http', http: { upstream: up.url, pathPrefix: '/api' } }], undefined, {}, { raw: { identity: { signingKeyFile: 'identity.pem', sessionGrace: '0s' } } });
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('closes an idle keep-alive connection at exp + identity.sessionGrace, not before', async () => {
    // exp is whole seconds: a 3 s token expires 2–3 s after it was issued.
    const token = await h.token('agent:test', ['agents'], 3_000);
    const t0 = Date.now();
    const s = connect(h.port, '127.0.0.1');
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    const closed = new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - t0)));
    s.write(`GET /api/a HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 700));
    assert.match(got, /^HTTP\/1\.1 200 /, 'the first request is answered');
    assert.ok(!s.destroyed, 'still open while the token is good');
    s.write(`GET /api/b HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const after = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 7_000))]);
    s.destroy();
    assert.equal(got.match(/HTTP\/1\.1 200 /g)?.length, 2, 'both requests answered');
    assert.ok(after >= 1_900 && after < 5_000, `closed ${after} ms after the token was issued (it lived 3 s)`);
  });
});

describe('HTTP listener: a session an administrator ends (issue #16)', { timeout: 20_000 }, () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  /** Answers of /api/slow requests the upstream holds until the test releases them. */
  const held: (() => void)[] = [];
  const NOTICE = 'chaperone: an administrator (alice) ended this session: incident 42';

  before(async () => {
    up = await startUpstream((r, res) => {
      const answer = (): void => void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} }));
      if (r.url.includes('slow')) held.push(answer);
      else answer();
    });
    h = await startHarness([
      { name: 'api', protocol: 'http', http: { upstream: up.url, pathPrefix: '/api' } },
      { name: 'tools', protocol: 'http', http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp/' } },
    ]);
    token = await h.token('agent:ended');
  });
  after(async () => {
    for (const a of held) a();
    await h.close();
    up.server.close();
  });

  /** A keep-alive connection to the listener: `send` writes a request and resolves with the next whole answer. */
  function connection(): { send(req: string): Promise<string>; closed: Promise<void>; destroy(): void } {
    const s = connect(h.port, '127.0.0.1');
    let got = '';
    let waiting: ((answer: string) => void) | undefined;
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      if (head < 0 || !waiting) return;
      // Content-Length, or chunked (a masked JSON answer): the end of the answer.
      const length = Number(/content-length: (\d+)/i.exec(got.slice(0, head))?.[1] ?? NaN);
      const last = got.indexOf('\r\n0\r\n\r\n', head);
      const end = Number.isNaN(length) ? (last < 0 ? -1 : last + 7) : head + 4 + length;
      if (end >= 0 && got.length >= end) {
        const answer = got.slice(0, end);
        got = got.slice(answer.length);
        waiting(answer);
        waiting = undefined;
      }
    });
    return { send: (req) => new Promise((resolve) => ((waiting = resolve), s.write(req))), closed, destroy: () => s.destroy() };
  }
  const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`;
  const lastSession = (): string => h.sink.published.filter((e) => e.event.body.type === 'SessionStarted').at(-1)!.event.sessionId;

  it('answers the next request on the idle keep-alive connection with 403, the reason and Connection: close', async () => {
    const c = connection();
    assert.match(await c.send(get('/api/one')), /^HTTP\/1\.1 200 /);
    const sessionId = lastSession();
    const seen = up.seen.length;
    assert.equal(h.listener.endSessionById(sessionId, 'ended-by-admin', 'ended by alice: incident 42', NOTICE), true);
    const answer = await c.send(get('/api/two'));
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.match(answer, /\r\nConnection: close\r\n/i);
    assert.ok(answer.endsWith(`${NOTICE}\n`), answer);
    await c.closed;
    assert.equal(up.seen.length, seen, 'nothing more went upstream');
    const events = await settle(h, (e) => e.some((x) => x.type === 'SessionEnded' && x.reason === 'ended-by-admin'));
    const ended = events.find((e): e is SessionEnded => e.type === 'SessionEnded' && e.reason === 'ended-by-admin')!;
    assert.equal(ended.error, 'ended by alice: incident 42');
  });

  it('answers a request in flight with 403 and the reason, and never relays the late upstream answer', async () => {
    const c = connection();
    const answer = c.send(get('/api/slow'));
    await settle(h, () => held.length > 0);
    const sessionId = lastSession();
    h.listener.endSessionById(sessionId, 'ended-by-admin', 'ended by alice: incident 42', NOTICE);
    const got = await answer;
    assert.match(got, /^HTTP\/1\.1 403 /);
    assert.match(got, /\r\nConnection: close\r\n/i);
    assert.ok(got.endsWith(`${NOTICE}\n`));
    await c.closed;
    held.shift()!();
    // The answer is recorded in the session before its seal, and belongs to the request's command.
    const own = (): EventBody[] => h.sink.published.filter((e) => e.event.sessionId === sessionId).map((e) => e.event.body);
    await settle(h, () => own().some((e) => e.type === 'SessionEnded'));
    const events = own();
    const cmd = events.find((e): e is Command => e.type === 'Command')!;
    const refused = events.filter((e): e is Frame => e.type === 'Frame' && e.messageType === 'http.response.body');
    assert.deepEqual(refused.map((f) => [f.bytes.toString(), f.commandIds]), [[`${NOTICE}\n`, [cmd.commandId]]]);
    const ended = events.at(-1)!;
    assert.ok(ended.type === 'SessionEnded' && ended.reason === 'ended-by-admin');
  });

  it('answers an MCP agent with a JSON-RPC error', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: {} } });
    const post = (path: string): string => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const c = connection();
    assert.match(await c.send(post('/mcp/')), /^HTTP\/1\.1 200 /);
    h.listener.endSessionById(lastSession(), 'ended-by-admin', 'ended by alice: incident 42', NOTICE);
    const answer = await c.send(post('/mcp/'));
    assert.match(answer, /^HTTP\/1\.1 403 /);
    const error = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: number; message: string } };
    assert.deepEqual(error.error, { code: -32001, message: NOTICE });
    // In flight: the error answers the call by its id.
    const d = connection();
    const inFlight = d.send(post('/mcp/slow'));
    await settle(h, () => held.length > 0);
    h.listener.endSessionById(lastSession(), 'ended-by-admin', 'ended by alice: incident 42', NOTICE);
    const got = await inFlight;
    const rpc = JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4)) as { id: number; error: { code: number; message: string } };
    assert.equal(rpc.id, 7);
    assert.equal(rpc.error.message, NOTICE);
    held.shift()!();
    c.destroy();
    d.destroy();
  });
});
