/**
 * Whole pipelined HTTP/1.1 connections, fuzzed (fast-check): valid requests and refused ones
 * (smuggling framings, traversal, bad tokens, bad Host, policy denials, oversized chunks)
 * interleaved, written in random pieces. Whatever the mix, the upstream receives exactly the
 * valid requests before the first refusal, in order, nothing is recorded after it, and the
 * connection is closed after the refusal.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { settle, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

type Req = { valid: boolean; bytes: (id: number, token: string) => string };

const H = (token: string): string => `Host: gw.test\r\nAuthorization: Bearer ${token}\r\n`;
const valid: Req[] = [
  { valid: true, bytes: (id, t) => `GET /api/m${id} HTTP/1.1\r\n${H(t)}\r\n` },
  { valid: true, bytes: (id, t) => `POST /api/m${id} HTTP/1.1\r\n${H(t)}Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello` },
  { valid: true, bytes: (id, t) => `PUT /api/m${id} HTTP/1.1\r\n${H(t)}Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n` },
];
const refused: Req[] = [
  { valid: false, bytes: (id, t) => `POST /api/m${id} HTTP/1.1\r\n${H(t)}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n` },
  { valid: false, bytes: (id, t) => `POST /api/m${id} HTTP/1.1\r\n${H(t)}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/../m${id} HTTP/1.1\r\n${H(t)}\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/%252e%252e/m${id} HTTP/1.1\r\n${H(t)}\r\n` },
  { valid: false, bytes: (id) => `GET /api/m${id} HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer not-a-token\r\n\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/m${id} HTTP/1.1\r\nHost: user@gw.test\r\nAuthorization: Bearer ${t}\r\n\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/m${id}\r\nX-Injected: 1 HTTP/1.1\r\n${H(t)}\r\n` },
  { valid: false, bytes: (id, t) => `POST /api/m${id} HTTP/1.1\r\n${H(t)}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n${'z'.repeat(300)}` },
  { valid: false, bytes: (id, t) => `POST /api/m${id} HTTP/1.1\r\n${H(t)}Transfer-Encoding: chunked\r\n\r\n00000000000000003\r\nabc\r\n0\r\n\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/forbidden/m${id} HTTP/1.1\r\n${H(t)}\r\n` },
  { valid: false, bytes: (id, t) => `GET /api/m${id} HTTP/1.1\r\n${H(t)}${'a: b\r\n'.repeat(120)}\r\n` },
];

/** Writes `bytes` in pieces cut at `cuts` (a tick apart); resolves with the reply once the server closed. */
function pipeline(port: number, bytes: Buffer, cuts: number[], waitMs = 3000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const out: Buffer[] = [];
    let closed = false;
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve({ reply: Buffer.concat(out).toString('latin1'), closed });
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => out.push(c));
    s.on('end', () => (closed = true));
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', () => {});
    const bounds = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
    let i = 0;
    const next = (): void => {
      if (i + 1 >= bounds.length || s.destroyed) return;
      s.write(bytes.subarray(bounds[i], bounds[i + 1]));
      i++;
      setTimeout(next, 1);
    };
    next();
  });
}

describe('pipelined HTTP/1.1 connections under fuzzing', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  let nextId = 1;

  before(async () => {
    up = await startUpstream((_r, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    h = await startHarness(
      [{ name: 'api', protocol: 'http', http: { upstream: up.url, pathPrefix: '/api', credentials: { type: 'header', name: 'X-Api-Key', value: { value: 'injected' } } } }],
      (input) => (input.command.text.includes('/forbidden') ? { result: 'deny', reasons: ['test'] } : { result: 'allow', reasons: [] }),
      { maxBodyBytes: '64KiB' },
    );
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('no request after a refusal ever reaches the upstream or the recording', async () => {
    const req = fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 3 }, { arbitrary: fc.constantFrom(...refused), weight: 1 });
    await fc.assert(
      fc.asyncProperty(fc.array(req, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(2000), { maxLength: 3 }), async (reqs, cuts) => {
        const ids = reqs.map(() => nextId++);
        // The last request closes the connection, so a run with no refusal ends too.
        const last = `GET /api/m${nextId++} HTTP/1.1\r\n${H(token)}Connection: close\r\n\r\n`;
        const bytes = Buffer.from(reqs.map((r, i) => r.bytes(ids[i]!, token)).join('') + last, 'latin1');
        const firstRefused = reqs.findIndex((r) => !r.valid);
        const expected = (firstRefused < 0 ? ids : ids.slice(0, firstRefused)).map((id) => `/m${id}`);
        if (firstRefused < 0) expected.push(`/m${nextId - 1}`);
        const seenBefore = up.seen.length;
        const { reply, closed } = await pipeline(h.port, bytes, cuts);
        assert.ok(closed, 'the connection is closed');
        await new Promise((r) => setTimeout(r, 30));
        const seen = up.seen.slice(seenBefore).map((s) => s.url);
        assert.deepEqual(seen, expected, `upstream saw ${JSON.stringify(seen)} for ${JSON.stringify(reply.slice(0, 400))}`);
        const statuses = [...reply.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
        assert.equal(statuses.filter((s) => s === 200).length, expected.length, reply.slice(0, 400));
        if (firstRefused >= 0) assert.ok(statuses.length === expected.length + 1 && statuses.at(-1)! >= 400, `one refusal last: ${statuses.join(',')}`);
        const recorded = (await settle(h, () => true, 0)).filter((e) => e.type === 'Command').map((e) => (e as { text: string }).text);
        for (const id of ids.slice(firstRefused < 0 ? ids.length : firstRefused + 1)) assert.ok(!recorded.some((t) => t.endsWith(`/m${id}`)), `m${id} recorded after the refusal`);
      }),
      { numRuns: 60 },
    );
  });

  it('forwards only the injected copy of the credential header', async () => {
    const before = up.seen.length;
    const { reply } = await pipeline(h.port, Buffer.from(`GET /api/cred HTTP/1.1\r\n${H(token)}X-Api-Key: agent-key\r\nx-api-key: agent-key-2\r\nCookie: s=1\r\nConnection: close\r\n\r\n`), []);
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const seen = up.seen[before]!;
    const keys = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase() === 'x-api-key') keys.push(seen.rawHeaders[i + 1]);
    assert.deepEqual(keys, ['injected']);
    assert.equal(seen.headers.cookie, undefined);
  });
});
