/**
 * The mcp connection kind against a JSON-RPC stand-in: per-message decisions with command.mcp,
 * JSON-RPC errors for refused calls (never forwarded), tools/list filtered in JSON and SSE
 * answers, Mcp-Session-Id both ways and the server's credentials injected.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Command, Frame } from '@chaperone/events';
import { frames, settle, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const TOOLS = [{ name: 'read_file' }, { name: 'echo' }, { name: 'delete_record' }];

function post(h: Harness, token: string, body: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const r = request(`${h.base}/mcp/`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'sess-1', 'mcp-protocol-version': '2025-06-18', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    r.on('error', reject);
    r.end(data);
  });
}

describe('HTTP listener: mcp connections', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  before(async () => {
    up = await startUpstream((req, res) => {
      const parsed = JSON.parse(req.body.toString()) as { id: number; method: string } | { id: number; method: string }[];
      const result = (m: { id: number; method: string }): Record<string, unknown> => ({ jsonrpc: '2.0', id: m.id, result: m.method === 'tools/list' ? { tools: TOOLS } : { content: [{ type: 'text', text: `ok ${m.id}, [not] the end` }] } });
      if (Array.isArray(parsed)) {
        // A batch: answered in reverse order (JSON-RPC 2.0 §6 allows any), as one JSON array or one event each after a progress notification.
        const answers = parsed.map(result).reverse();
        if (parsed[0]!.id < 100) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers));
        const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } };
        return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end([progress, ...answers].map((a) => `event: message\ndata: ${JSON.stringify(a)}\n\n`).join(''));
      }
      const msg = parsed;
      const answer = JSON.stringify(result(msg));
      if (msg.id >= 100) res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'sess-1' }).end(`event: message\ndata: ${answer}\n\n`);
      else res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'sess-1' }).end(answer);
    });
    h = await startHarness(
      [{ name: 'records', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp/', credentials: { type: 'bearer', token: { value: 'server-secret' } }, bodies: { byContentType: { 'text/event-stream': 'full' } } } }],
      (input) => {
        const mcp = input.command.mcp as { tool?: string } | undefined;
        return mcp?.tool === 'delete_record' ? { result: 'deny', reasons: ['destructive (policy: test)'] } : { result: 'allow', reasons: [] };
      },
    );
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('filters tools/list (JSON and SSE) and passes the session headers and injected credentials', async () => {
    for (const id of [1, 100]) {
      const r = await post(h, token, { jsonrpc: '2.0', id, method: 'tools/list' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['mcp-session-id'], 'sess-1');
      const json = id === 1 ? r.body : r.body.split('\n').find((l) => l.startsWith('data: '))!.slice(6);
      assert.deepEqual((JSON.parse(json) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name), ['read_file', 'echo']);
    }
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers.authorization, 'Bearer server-secret');
    assert.equal(seen.headers['mcp-session-id'], 'sess-1');
    assert.equal(seen.headers['mcp-protocol-version'], '2025-06-18');
  });

  it('decides each call with command.mcp and answers a denied one with a JSON-RPC error', async () => {
    const before = up.seen.length;
    const ok = await post(h, token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { b: 2, a: 1 } } });
    assert.match(ok.body, /"text":"ok 2/);
    const denied = await post(h, token, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'delete_record', arguments: { id: 'x' } } });
    assert.equal(denied.status, 200);
    assert.deepEqual(JSON.parse(denied.body), { jsonrpc: '2.0', id: 3, error: { code: -32001, message: 'chaperone: denied by policy: destructive (policy: test)', data: { decision: 'deny', reasons: ['destructive (policy: test)'] } } });
    assert.equal(up.seen.length, before + 1, 'the denied call never reached the server');
    const input = h.decisions.find((d) => (d.command.mcp as { id?: number } | undefined)?.id === 2)!;
    assert.deepEqual(input.command.mcp, { server: 'records', direction: 'client', method: 'tools/call', id: 2, tool: 'echo', arguments: { b: 2, a: 1 }, argsSha256: (input.command.mcp as { argsSha256: string }).argsSha256, sessionId: 'sess-1', toolInfo: null });
    const events = await settle(h, (e) => e.filter((x) => x.type === 'Command' && x.protocol === 'mcp' && x.action === 'tools/call').length >= 2);
    const cmds = events.filter((x): x is Command => x.type === 'Command' && x.protocol === 'mcp' && x.action === 'tools/call');
    assert.deepEqual(cmds.map((c) => c.targets), [['echo'], ['delete_record']]);
    assert.match(cmds[0]!.text, /^tools\/call echo sha256:[0-9a-f]{64}$/);
  });

  it('records each message of a batch, and each answer (JSON or SSE, any order), with its own command', async () => {
    const callOf = (id: number, tool: string): Record<string, unknown> => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: { n: id } } });
    for (const [a, b] of [[50, 51], [150, 151]] as const) {
      const r = await post(h, token, [callOf(a, 'echo'), callOf(b, 'read_file')]);
      assert.equal(r.status, 200);
      assert.match(r.body, new RegExp(`"ok ${b}, \\[not\\] the end"[\\s\\S]*"ok ${a},`));
      const events = await settle(h, (e) => frames(e, 'http.response.body').some((f) => f.bytes.includes(`ok ${a},`)));
      const cmd = (id: number): number => events.find((e): e is Command => e.type === 'Command' && (JSON.parse(e.detailsJson) as { id?: number }).id === id)!.commandId;
      const of = (type: string, text: string): Frame[] => frames(events, type).filter((f) => f.bytes.includes(text));
      // The request: the head and the first message are the first call's, the second message the second's.
      assert.deepEqual(of('http.request.body', `"id":${a}`).map((f) => f.commandIds), [[cmd(a)]]);
      assert.deepEqual(of('http.request.body', `"id":${b}`).map((f) => f.commandIds), [[cmd(b)]]);
      // The answer: each response its own call's, whatever its place in the body.
      assert.deepEqual(of('http.response.body', `ok ${a},`).map((f) => f.commandIds), [[cmd(a)]]);
      assert.deepEqual(of('http.response.body', `ok ${b},`).map((f) => f.commandIds), [[cmd(b)]]);
      if (a >= 100) {
        // The server's notification in the stream is a command of its own.
        const progress = events.findLast((e): e is Command => e.type === 'Command' && e.action === 'notifications/progress')!;
        assert.deepEqual(of('http.response.body', 'notifications/progress').at(-1)!.commandIds, [progress.commandId]);
      }
    }
  });
});
