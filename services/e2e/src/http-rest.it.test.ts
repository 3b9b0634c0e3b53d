/**
 * The HTTP gateway with curl against a JSON API, through the load-balanced TLS endpoint
 * (haproxy → gateway nodes → deploy/local's json-api): credential injection, recorded commands
 * in ClickHouse and replay, and malformed requests that get a 4xx and never reach the upstream.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { commandsOf, frameCommands, httpBase, issueToken, logSince, logSize, rawTls, replayOf, uniqueSubject } from './lib/http.js';
import { loadStack, run, type Stack } from './lib/stack.js';

describe('HTTP gateway: curl against a JSON API', () => {
  let stack: Stack;
  let token: string;
  const subject = uniqueSubject('rest');
  const curl = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('curl', ['-sS', '--cacert', stack.TLS_CA_FILE!, '-H', `Authorization: Bearer ${token}`, '-w', '\n%{http_code}', ...args]);

  before(async () => {
    stack = loadStack();
    token = await issueToken(stack, subject);
  });

  it('creates, reads, updates and deletes through the gateway, which injects the API key', async () => {
    const base = `${httpBase(stack)}/api`;
    const created = await curl('-H', 'Content-Type: application/json', '-d', '{"name":"widget","qty":3}', `${base}/items`);
    assert.equal(created.code, 0, created.stderr);
    const [body, status] = created.stdout.split('\n');
    assert.equal(status, '201');
    const id = (JSON.parse(body!) as { id: string }).id;
    assert.match((await curl(`${base}/items/${id}`)).stdout, /"name":"widget"[\s\S]*\n200$/);
    assert.match((await curl('-X', 'PATCH', '-H', 'Content-Type: application/json', '-d', '{"qty":4}', `${base}/items/${id}`)).stdout, /"qty":4[\s\S]*\n200$/);
    assert.match((await curl('-X', 'DELETE', `${base}/items/${id}`)).stdout, /\n204$/);
    const echo = await curl(`${base}/echo?probe=1`);
    const seen = JSON.parse(echo.stdout.split('\n')[0]!) as { headers: Record<string, string> };
    assert.equal(seen.headers.authorization, undefined, "the agent's token is not forwarded");
    assert.equal(seen.headers['x-forwarded-proto'], 'https');

    const rows = await commandsOf(stack, subject, 5);
    const post = rows.find((r) => r.action === 'POST')!;
    assert.equal(post.protocol, 'http');
    assert.equal(post.text, 'POST /api/items');
    assert.equal(post.decision, 'ALLOW');
    assert.deepEqual(JSON.parse(post.details), { method: 'POST', path: '/api/items', query: {}, contentType: 'application/json' });
    assert.deepEqual(rows.map((r) => r.action).slice(0, 5), ['POST', 'GET', 'PATCH', 'DELETE', 'GET']);
    // The POST's head and body one way, its answer's head and body the other, are its own (frame_commands).
    await frameCommands(stack, [post.session_id], (m) => (m.get(`${post.command_id} CLIENT_TO_SERVER`) ?? 0) >= 2 && (m.get(`${post.command_id} SERVER_TO_CLIENT`) ?? 0) >= 2);
    const replay = await replayOf(stack, post.session_id);
    assert.match(replay, new RegExp(subject));
    assert.match(replay, /POST \/api\/items/);
    assert.match(replay, /ALLOW/);

    const key = readFileSync(`${stack.CHAPERONE_RUN_DIR}/secrets/json-api.key`, 'utf8').trim();
    const leaked = await run('node', [stack.CHAPERONE_CLI!, 'sql', `SELECT count() AS n FROM events WHERE position(payload, '${key}') > 0 OR position(payload, '${token.split('.')[2]}') > 0`, '--format', 'json'], { env: { ...process.env, CHAPERONE_CONFIG: stack.CHAPERONE_CONFIG } });
    assert.equal(leaked.code, 0, leaked.stderr);
    assert.match(leaked.stdout, /"n": "?0"?/, 'neither the API key nor the agent token is recorded');
  });

  it('masks secrets in JSON responses as they stream back', async () => {
    const base = `${httpBase(stack)}/api`;
    const secret = `ghp_${'A1b2C3d4E5'.repeat(3)}xYz123`;
    const created = await curl('-H', 'Content-Type: application/json', '-d', JSON.stringify({ name: 'leaky', note: `deploy with ${secret}` }), `${base}/items`);
    const [body, status] = created.stdout.split('\n');
    assert.equal(status, '201', created.stderr + created.stdout);
    assert.ok(!body!.includes(secret), 'the echoed item must come back masked');
    assert.match(body!, /\[MASKED:github-token\]/);
    const id = (JSON.parse(body!) as { id: string | number }).id;
    const read = await curl(`${base}/items/${id}`);
    assert.ok(!read.stdout.includes(secret));
    assert.match(read.stdout, /\[MASKED:github-token\][\s\S]*\n200$/);
  });

  it('refuses a request without a token with 401 and a Basic challenge', async () => {
    const r = await run('curl', ['-sS', '-i', '--cacert', stack.TLS_CA_FILE!, `${httpBase(stack)}/api/items`]);
    assert.match(r.stdout, /^HTTP\/(1\.1|2) 401 /, 'curl speaks HTTP/2 when the gateway offers it');
    assert.match(r.stdout, /WWW-Authenticate: Basic realm="chaperone"/i);
  });

  describe('malformed requests get a 4xx and never reach the upstream', () => {
    const cases: [string, (t: string) => string, RegExp][] = [
      ['Content-Length with Transfer-Encoding (smuggling)', (t) => `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['Transfer-Encoding with a space before the colon', (t) => `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['bad chunk size', (t) => `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{"a":1}\r\n0\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['chunk longer than announced', (t) => `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a":1}\r\n0\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['header injection with a bare CR', (t) => `GET /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nX-Note: a\rX-Injected: 1\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['path traversal out of the route prefix', (t) => `GET /api/../git/demo.git/info/refs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['encoded traversal', (t) => `GET /api/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\n\r\n`, /^HTTP\/1\.1 400 /],
      ['oversized headers', (t) => `GET /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ];
    for (const [name, request, expected] of cases) {
      it(name, async () => {
        const log = stack.JSON_API_ACCESS_LOG!;
        const before = logSize(log);
        const reply = await rawTls(stack, request(token));
        assert.match(reply, expected, reply.slice(0, 300));
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(logSince(log, before).trim(), '', 'the JSON API logged no request');
      });
    }
  });
});
