/**
 * HTTP/2 through the load-balanced endpoint: haproxy passes TLS through in TCP mode, so ALPN
 * reaches the gateway nodes, which offer `h2` next to `http/1.1`. Real `curl --http2` against
 * the JSON API, and real kubectl (client-go offers h2) against deploy/local's Kubernetes API
 * STAND-IN (no real apiserver runs here: deploy/local/k8s-standin/server.mjs). Upstreams are
 * spoken to in HTTP/1.1; the recording says which protocol the agent used.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsOf, httpBase, issueToken, logSince, logSize, replayOf, sql, uniqueSubject, writeKubeconfig } from './lib/http.js';
import { loadStack, run, type Stack } from './lib/stack.js';

/** The recorded request heads of a session, oldest first. */
async function requestHeads(stack: Stack, sessionId: string): Promise<string[]> {
  const rows = await sql<{ head: string }>(stack, `SELECT payload AS head FROM events FINAL WHERE session_id = '${sessionId}' AND message_type = 'http.request.head' ORDER BY seq`);
  return rows.map((r) => r.head);
}

describe('HTTP gateway over HTTP/2', () => {
  let stack: Stack;
  let token: string;
  const subject = uniqueSubject('h2');
  const curlAs = (bearer: string | undefined, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('curl', ['-sS', '--http2', '--cacert', stack.TLS_CA_FILE!, ...(bearer ? ['-H', `Authorization: Bearer ${bearer}`] : []), '-w', '\n%{http_version} %{http_code}', ...args]);
  const curl = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => curlAs(token, ...args);
  const tail = (out: string): string => out.slice(out.lastIndexOf('\n') + 1);

  before(async () => {
    stack = loadStack();
    const v = await run('curl', ['-V']);
    assert.match(v.stdout, /^Features:.*\bHTTP2\b/m, 'this curl is built without HTTP/2 (nghttp2)');
    token = await issueToken(stack, subject);
  });

  it('curl --http2 talks HTTP/2 to the gateway, the API gets HTTP/1.1, the commands are recorded', async () => {
    const base = `${httpBase(stack)}/api`;
    const created = await curl('-H', 'Content-Type: application/json', '-d', '{"name":"h2-widget","qty":2}', `${base}/items`);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(tail(created.stdout), '2 201');
    const id = (JSON.parse(created.stdout.split('\n')[0]!) as { id: string }).id;
    const read = await curl(`${base}/items/${id}`);
    assert.equal(tail(read.stdout), '2 200');
    assert.match(read.stdout, /"name":"h2-widget"/);
    const echo = await curl(`${base}/echo?via=h2`);
    const seen = JSON.parse(echo.stdout.split('\n')[0]!) as { headers: Record<string, string> };
    assert.equal(seen.headers.authorization, undefined, "the agent's token is not forwarded");
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.match(seen.headers.host ?? '', /^127\.0\.0\.1:\d+$/, 'Host is the upstream, built from :authority');

    const rows = await commandsOf(stack, subject, 3);
    assert.deepEqual(rows.slice(0, 3).map((r) => r.text), ['POST /api/items', `GET /api/items/${id}`, 'GET /api/echo?via=h2']);
    assert.ok(rows.every((r) => r.decision === 'ALLOW'));
    const heads = await requestHeads(stack, rows[0]!.session_id);
    assert.match(heads[0]!, /^POST \/api\/items HTTP\/2\.0\r\n/, 'the recorded head says HTTP/2');
    assert.match(heads[0]!, /\r\nauthorization: Bearer \[redacted\]\r\n/);
    const replay = await replayOf(stack, rows[0]!.session_id);
    assert.match(replay, /POST \/api\/items/);
  });

  it('streams an upload of unknown length (no Content-Length over HTTP/2) to the upstream', async () => {
    const log = stack.JSON_API_ACCESS_LOG!;
    const from = logSize(log);
    const body = `${'chaperone-h2-stream '.repeat(26_215)}`.slice(0, 512 * 1024);
    const r = await run('curl', ['-sS', '--http2', '--cacert', stack.TLS_CA_FILE!, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: text/plain', '-T', '-', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${httpBase(stack)}/api/echo/upload`], { input: body });
    assert.equal(r.stdout, '2 200', r.stderr);
    await new Promise((res) => setTimeout(res, 200));
    assert.match(logSince(log, from), new RegExp(`"PUT /echo/upload" 200 ${body.length}$`, 'm'), 'the whole body reached the API');
  });

  describe('refusals over HTTP/2 never reach the upstream', () => {
    const cases: [string, (base: string) => Promise<{ code: number; stdout: string; stderr: string }>, string][] = [
      ['no token', (base) => curlAs(undefined, '-o', '/dev/null', `${base}/api/items`), '2 401'],
      ['path traversal', (base) => curl('--path-as-is', '-o', '/dev/null', `${base}/api/../git/demo.git/info/refs`), '2 400'],
      ['oversized header list', (base) => curl('-H', `X-Big: ${'a'.repeat(20_000)}`, '-o', '/dev/null', `${base}/api/items`), '2 431'],
    ];
    for (const [name, request, expected] of cases) {
      it(name, async () => {
        const log = stack.JSON_API_ACCESS_LOG!;
        const from = logSize(log);
        const r = await request(httpBase(stack));
        // nghttp2 resets a stream whose header list exceeds the acknowledged limit before the
        // gateway sees it: curl then reports a stream error instead of the 431.
        if (name === 'oversized header list' && r.code !== 0) assert.match(r.stderr, /HTTP\/2 stream \d+ was (not closed cleanly|reset)|PROTOCOL_ERROR|ENHANCE_YOUR_CALM|INTERNAL_ERROR/);
        else assert.equal(tail(r.stdout), expected, r.stderr);
        await new Promise((res) => setTimeout(res, 200));
        assert.equal(logSince(log, from).trim(), '', 'the JSON API logged no request');
      });
    }
  });

  describe('kubectl (client-go offers h2) against the Kubernetes API stand-in', () => {
    const ksubject = uniqueSubject('h2-k8s');
    const dir = mkdtempSync(join(tmpdir(), 'e2e-h2-k8s-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const name = `e2e-h2-${randomBytes(3).toString('hex')}`;
    const kubectl = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir } });

    before(async () => {
      const ktoken = await issueToken(stack, ksubject);
      writeKubeconfig(kubeconfig, stack, ktoken, 'demo');
    });

    it('gets and creates over HTTP/2 and still execs over a WebSocket on HTTP/1.1', async () => {
      const ns = await kubectl('get', 'namespaces');
      assert.equal(ns.code, 0, ns.stderr);
      assert.match(ns.stdout, /demo/);
      const cm = join(dir, 'cm.yaml');
      writeFileSync(cm, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {color: blue}\n`);
      const created = await kubectl('apply', '-f', cm);
      assert.equal(created.code, 0, created.stderr);
      const pod = join(dir, 'pod.yaml');
      writeFileSync(pod, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}-pod}\nspec: {containers: [{name: main, image: busybox}]}\n`);
      assert.equal((await kubectl('apply', '-f', pod)).code, 0);
      // RFC 8441 (WebSocket over HTTP/2) is not offered: client-go dials the exec stream on HTTP/1.1.
      const exec = await kubectl('exec', `${name}-pod`, '--', 'echo', `hello-${name}`);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout.trim(), `hello-${name}`);
      assert.equal((await kubectl('delete', 'configmap', name)).code, 0);
      assert.equal((await kubectl('delete', 'pod', `${name}-pod`)).code, 0);

      const rows = await commandsOf(stack, ksubject, 3, "action IN ('k8s.create', 'k8s.exec', 'k8s.delete')");
      const create = rows.find((r) => r.action === 'k8s.create' && r.targets.includes(`demo/configmaps/${name}`))!;
      assert.ok(create, 'the create is recorded with its target');
      assert.match((await requestHeads(stack, create.session_id)).join(''), new RegExp(`^POST /k8s/api/v1/namespaces/demo/configmaps\\S* HTTP/2\\.0\\r\\n`, 'm'));
      const exec1 = rows.find((r) => r.action === 'k8s.exec')!;
      assert.match((await requestHeads(stack, exec1.session_id))[0]!, /^GET \/k8s\/api\/v1\/namespaces\/demo\/pods\/\S+\/exec\?\S+ HTTP\/1\.1\r\n/);
      const frames = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events FINAL WHERE session_id = '${exec1.session_id}' AND startsWith(message_type, 'ws.frame')`);
      assert.ok(Number(frames[0]!.n) >= 2, 'the exec stream is recorded frame by frame');
    });
  });
});
