import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as h2connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { Command, SessionEnded, SessionStarted } from '@chaperone/events';
import { frames, settle, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const SECRET = 'upstream-secret-h2-0123456789';

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  informational: number[];
}

/** One request on an HTTP/2 session; `body` chunks are written one by one (no Content-Length unless given). */
function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer[] | ((write: (b: Buffer) => void, end: () => void) => void)): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const informational: number[] = [];
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('headers', (h) => informational.push(Number(h[':status'])));
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks), informational }));
    stream.on('error', reject);
    if (Array.isArray(body)) {
      for (const b of body) stream.write(b);
      stream.end();
    } else if (body) body((b) => stream.write(b), () => stream.end());
  });
}

describe('HTTP listener over HTTP/2 (ALPN h2)', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  let ca: Buffer;
  const open = (): Promise<ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const s = h2connect(h.base, { ca, servername: 'localhost' });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });

  before(async () => {
    up = await startUpstream((r, res) => {
      if (r.url.startsWith('/base/big')) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        return res.end(Buffer.alloc(3 * 1024 * 1024, 7));
      }
      // Connection-specific fields HTTP/2 forbids: the gateway must drop them, not crash.
      res.writeHead(200, 'Fine', { 'Content-Type': 'application/json', Connection: 'keep-alive, X-Hop', 'X-Hop': 'drop-me', 'Keep-Alive': 'timeout=5', 'Set-Cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ method: r.method, url: r.url, length: r.body.length, sha256: createHash('sha256').update(r.body).digest('hex') }));
    });
    up.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
    });
    h = await startHarness(
      [{ name: 'api', protocol: 'http', labels: { env: 'test' }, http: { upstream: `${up.url}/base`, pathPrefix: '/api', forwardAgentHeaders: ['cookie'], credentials: { type: 'bearer', token: { value: SECRET } } } }],
      (input) => (input.command.text.includes('/forbidden') ? { result: 'deny', reasons: ['no forbidden things (policy: test)'] } : { result: 'allow', reasons: [] }),
      { h2: { maxConcurrentStreams: 7, maxHeaderListSize: '4KiB' } },
      { tls: true },
    );
    ca = readFileSync(h.certFile!);
    token = await h.token('agent:h2');
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('negotiates h2, advertises the configured limits, forwards in HTTP/1.1 and records the HTTP/2 head', async () => {
    const s = await open();
    assert.equal(s.alpnProtocol, 'h2');
    await new Promise((r) => (s.remoteSettings.maxConcurrentStreams === 7 ? r(undefined) : s.once('remoteSettings', r)));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 7);
    assert.equal(s.remoteSettings.maxHeaderListSize, 4096);
    const res = await h2request(s, { ':path': '/api/items?q=1', authorization: `Bearer ${token}`, 'x-custom': 'kept', cookie: 'c1=1' });
    s.close();
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as { url: string }).url, '/base/items?q=1');
    for (const f of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) assert.equal(res.headers[f], undefined, `${f} is connection-specific`);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(seen.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers.cookie, 'c1=1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.ok(!seen.rawHeaders.some((n) => n.startsWith(':')), 'no pseudo-header reaches the upstream');

    const events = await settle(h, (e) => e.some((x) => x.type === 'SessionEnded'));
    const head = frames(events, 'http.request.head')[0]!.bytes.toString();
    assert.match(head, /^GET \/api\/items\?q=1 HTTP\/2\.0\r\nhost: [\w.]+:\d+\r\n/);
    assert.match(head, /authorization: Bearer \[redacted\]/);
    assert.doesNotMatch(head, /\r\n:/);
    assert.match(frames(events, 'http.response.head')[0]!.bytes.toString(), /^HTTP\/2\.0 200 \r\n/, 'the response head as the HTTP/2 agent got it');
    const cmd = events.find((e): e is Command => e.type === 'Command')!;
    assert.equal(cmd.text, 'GET /api/items?q=1');
    const started = events.find((e): e is SessionStarted => e.type === 'SessionStarted')!;
    assert.equal((JSON.parse(started.attributesJson) as { httpVersion: string }).httpVersion, '2.0');
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes(token) && !all.includes(SECRET), 'neither credential is recorded');
  });

  it('shares one recorded session across the streams of a connection, concurrently', async () => {
    const before = h.sink.bodies().filter((e) => e.type === 'SessionStarted').length;
    const s = await open();
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => h2request(s, { ':path': `/api/k${i}`, authorization: `Bearer ${token}` })));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200]);
    s.close();
    const events = await settle(h, (e) => e.filter((x) => x.type === 'SessionEnded').length >= 2);
    assert.equal(events.filter((e) => e.type === 'SessionStarted').length, before + 1);
    assert.equal(events.filter((e): e is SessionEnded => e.type === 'SessionEnded').at(-1)!.counters.commands, 5);
  });

  it('streams a body of unknown length (no Content-Length) upstream, recorded as size + digest', async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const s = await open();
    const res = await h2request(s, { ':method': 'PUT', ':path': '/api/upload', authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, (write, end) => {
      for (let i = 0; i < payload.length; i += 100_000) write(payload.subarray(i, i + 100_000));
      end();
    });
    s.close();
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString()) as { length: number; sha256: string };
    assert.equal(body.length, payload.length);
    const digest = createHash('sha256').update(payload).digest('hex');
    assert.equal(body.sha256, digest);
    const events = await settle(h, (e) => frames(e, 'http.request.body.end').some((f) => f.bytes.includes(digest)));
    assert.ok(frames(events, 'http.request.body.end').some((f) => (JSON.parse(f.bytes.toString()) as { sha256: string }).sha256 === digest));
  });

  it('sends a small body with a Content-Length upstream and relays a large response', async () => {
    const s = await open();
    const post = await h2request(s, { ':method': 'POST', ':path': '/api/items', authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '7' }, [Buffer.from('{"a":1}')]);
    assert.equal((JSON.parse(post.body.toString()) as { length: number }).length, 7);
    assert.equal(up.seen.at(-1)!.headers['content-length'], '7');
    const big = await h2request(s, { ':path': '/api/big', authorization: `Bearer ${token}` });
    assert.equal(big.body.length, 3 * 1024 * 1024);
    s.close();
  });

  it('answers Expect: 100-continue only after authentication', async () => {
    const s = await open();
    const ok = await h2request(s, { ':method': 'PUT', ':path': '/api/e', authorization: `Bearer ${token}`, expect: '100-continue', 'content-length': '5' }, [Buffer.from('hello')]);
    assert.deepEqual(ok.informational, [100]);
    assert.equal(ok.status, 200);
    assert.equal(up.seen.at(-1)!.body.toString(), 'hello');
    assert.equal(up.seen.at(-1)!.headers.expect, undefined);
    const n = up.seen.length;
    const refused = await h2request(s, { ':method': 'PUT', ':path': '/api/e', expect: '100-continue', 'content-length': '5' }, [Buffer.from('hello')]);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.informational, []);
    s.close();
    assert.equal(up.seen.length, n);
  });

  it('refuses with 4xx on the stream and keeps the connection usable; nothing goes upstream', async () => {
    const n = up.seen.length;
    const s = await open();
    const noToken = await h2request(s, { ':path': '/api/x' });
    assert.equal(noToken.status, 401);
    assert.match(String(noToken.headers['www-authenticate']), /^Basic realm="chaperone"/);
    const denied = await h2request(s, { ':method': 'POST', ':path': '/api/forbidden', authorization: `Bearer ${token}`, 'content-type': 'application/json' }, [Buffer.from('{"a":1}')]);
    assert.equal(denied.status, 403);
    assert.match(denied.body.toString(), /denied by policy: no forbidden things/);
    assert.equal(denied.headers.connection, undefined, 'Connection: close is not sent over HTTP/2');
    assert.equal((await h2request(s, { ':path': '/api/%2e%2e/admin', authorization: `Bearer ${token}` })).status, 400);
    assert.equal((await h2request(s, { ':path': '/nope', authorization: `Bearer ${token}` })).status, 404);
    assert.equal((await h2request(s, { ':path': '/api/x', ':authority': '127.0.0.1', authorization: `Bearer ${token}`, host: 'elsewhere.example' })).status, 400, 'Host differing from :authority');
    // Beyond the advertised SETTINGS_MAX_HEADER_LIST_SIZE: nghttp2 resets the stream once the
    // client acknowledged the setting, the gateway answers 431 before that (curl's first request).
    const big = await h2request(s, { ':path': '/api/x', authorization: `Bearer ${token}`, 'x-big': 'a'.repeat(5000) }).then(
      (r) => r.status,
      (e: NodeJS.ErrnoException) => e.message,
    );
    assert.match(String(big), /^431$|NGHTTP2_ENHANCE_YOUR_CALM/);
    // A refused upload: the client is told to stop (RST_STREAM NO_ERROR after the response).
    const upload = await h2request(s, { ':method': 'PUT', ':path': '/api/forbidden', authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, (write) => {
      for (let i = 0; i < 20; i++) write(Buffer.alloc(100_000));
    });
    assert.equal(upload.status, 403);
    assert.equal((await h2request(s, { ':path': '/api/after', authorization: `Bearer ${token}` })).status, 200, 'the connection still serves');
    s.close();
    assert.equal(up.seen.length, n + 1, 'only the last request reached the upstream');
    const events = await settle(h, (e) => frames(e, 'http.response.head').some((f) => f.bytes.toString().startsWith('HTTP/2.0 403')));
    assert.ok(frames(events, 'http.response.head').some((f) => f.bytes.toString().startsWith('HTTP/2.0 403 \r\n')), 'a refusal is recorded as the HTTP/2 agent got it');
  });

  it('refuses a stream beyond the concurrency limit without breaking the others', async () => {
    const s = await open();
    await new Promise((r) => (s.remoteSettings.maxConcurrentStreams === 7 ? r(undefined) : s.once('remoteSettings', r)));
    // Node's client queues beyond the peer's limit itself: all 12 complete, 7 at a time.
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => h2request(s, { ':path': `/api/c${i}`, authorization: `Bearer ${token}` })));
    assert.ok(replies.every((r) => r.status === 200));
    s.close();
  });

  it('still serves HTTP/1.1 clients and upgrades on the same port', async () => {
    const sock = tlsConnect({ host: '127.0.0.1', port: h.port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await new Promise((r) => sock.once('secureConnect', r));
    assert.equal(sock.alpnProtocol, 'http/1.1');
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    sock.write(`GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`);
    const until = async (re: RegExp): Promise<string> => {
      for (let i = 0; i < 100; i++) {
        const text = Buffer.concat(got).toString('latin1');
        if (re.test(text)) return text;
        await new Promise((r) => setTimeout(r, 20));
      }
      return Buffer.concat(got).toString('latin1');
    };
    assert.match(await until(/\r\n\r\n/), /^HTTP\/1\.1 101 /);
    sock.write('ping');
    assert.match(await until(/echo:ping/), /echo:ping/);
    sock.destroy();
    const plain = await new Promise<string>((resolve, reject) => {
      const s2 = tlsConnect({ host: '127.0.0.1', port: h.port, ca, servername: 'localhost' }, () => s2.write(`GET /api/h1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
      const out: Buffer[] = [];
      s2.on('data', (c: Buffer) => out.push(c));
      s2.on('end', () => resolve(Buffer.concat(out).toString('latin1')));
      s2.on('error', reject);
    });
    assert.match(plain, /^HTTP\/1\.1 200 Fine\r\n/, 'a client without ALPN gets HTTP/1.1');
  });

  it('sends GOAWAY to HTTP/2 clients when the listener closes', async () => {
    const s = await open();
    assert.equal((await h2request(s, { ':path': '/api/before-close', authorization: `Bearer ${token}` })).status, 200);
    const goaway = new Promise<number>((r) => s.once('goaway', (code: number) => r(code)));
    await h.listener.close();
    assert.equal(await goaway, constants.NGHTTP2_NO_ERROR);
    s.destroy();
  });
});
