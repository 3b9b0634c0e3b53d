/**
 * The server's event streams of an mcp connection (issue #15): the GET stream read event by
 * event, the server's own requests and notifications recorded and decided (a refused sampling
 * request never reaches the agent and the server gets a JSON-RPC error), Last-Event-ID passed
 * on, DELETE ending the recorded session, and a fuzzer feeding broken SSE framing and invalid
 * UTF-8: a clean error, nothing forwarded that is not recorded, other sessions unaffected.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChainedEvent, Command, Decision, Frame } from '@chaperone/events';
import { SseParser } from '../../protocols/mcp/index.js';
import { settle, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const ev = (v: unknown, id?: string): string => `${id ? `id: ${id}\n` : ''}event: message\ndata: ${JSON.stringify(v)}\n\n`;
const SAMPLING = { jsonrpc: '2.0', id: 's1', method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 } };
const ELICIT = { jsonrpc: '2.0', id: 'e1', method: 'elicitation/create', params: { message: 'name?', requestedSchema: { type: 'object', properties: {} } } };
const PROGRESS = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } };

function call(h: Harness, token: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = request(`${h.base}${path}`, { method, agent: false, headers: { authorization: `Bearer ${token}`, 'mcp-session-id': 'sess-9', ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('HTTP listener: mcp server streams', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  /** What the upstream's next GET /broken answers with. */
  let broken: Buffer[] = [];
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.method === 'POST') return void res.writeHead(202).end();
      if (req.method === 'DELETE') return void res.writeHead(200).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/stream') return void res.end(`: hello\n\n${ev(SAMPLING, 'e1')}${ev(ELICIT, 'e2')}${ev(PROGRESS, 'e3')}`);
      for (const b of broken) res.write(b);
      res.end();
    });
    h = await startHarness(
      [{ name: 'assistant', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp/', credentials: { type: 'bearer', token: { value: 'server-secret' } }, bodies: { byContentType: { 'text/event-stream': 'full' } } } }],
      (input) => {
        const mcp = input.command.mcp as { method?: string; direction?: string } | undefined;
        return mcp?.direction === 'server' && mcp.method === 'sampling/createMessage' ? { result: 'deny', reasons: ['no sampling on prod (policy: test)'] } : { result: 'allow', reasons: [] };
      },
    );
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('decides each server request on the GET stream: a refused one is answered to the server, never to the agent', async () => {
    const r = await call(h, token, 'GET', '/mcp/stream', { accept: 'text/event-stream', 'last-event-id': 'e0' });
    assert.equal(r.body.toString(), `: hello\n\nid: e1\n\n${ev(ELICIT, 'e2')}${ev(PROGRESS, 'e3')}`);
    const seen = up.seen.find((s) => s.url === '/stream')!;
    assert.equal(seen.headers['last-event-id'], 'e0', 'resumption goes on to the server');
    const answer = await (async () => {
      for (let i = 0; i < 100 && !up.seen.some((s) => s.method === 'POST'); i++) await new Promise((res) => setTimeout(res, 20));
      return up.seen.find((s) => s.method === 'POST')!;
    })();
    assert.equal(answer.url, '/stream');
    assert.equal(answer.headers.authorization, 'Bearer server-secret');
    assert.equal(answer.headers['mcp-session-id'], 'sess-9');
    assert.deepEqual(JSON.parse(answer.body.toString()), { jsonrpc: '2.0', id: 's1', error: { code: -32001, message: 'chaperone: denied by policy: no sampling on prod (policy: test)', data: { decision: 'deny', reasons: ['no sampling on prod (policy: test)'] } } });
    const events = await settle(h, (e) => e.some((x) => x.type === 'Frame' && x.messageType === 'mcp.gateway.answer'));
    const cmds = events.filter((x): x is Command => x.type === 'Command' && x.protocol === 'mcp' && (JSON.parse(x.detailsJson) as { direction?: string }).direction === 'server');
    assert.deepEqual(
      cmds.map((c) => c.action),
      ['sampling/createMessage', 'elicitation/create', 'notifications/progress'],
    );
    const decisions = events.filter((x): x is Decision => x.type === 'Decision');
    assert.equal(decisions.find((d) => d.commandId === cmds[0]!.commandId)?.result, 'DENY');
    const input = h.decisions.find((d) => (d.command.mcp as { method?: string } | undefined)?.method === 'elicitation/create')!;
    assert.deepEqual((input.command.mcp as { arguments: unknown }).arguments, ELICIT.params);
  });

  it('records a DELETE of the MCP session as a command and ends the recorded session', async () => {
    const r = await call(h, token, 'DELETE', '/mcp/');
    assert.equal(r.status, 200);
    const events = await settle(h, (e) => e.some((x) => x.type === 'SessionEnded' && x.reason === 'mcp-session-deleted'));
    assert.ok(events.some((x) => x.type === 'Command' && x.action === 'session/delete' && x.text === 'session/delete sess-9'));
    assert.ok(events.some((x) => x.type === 'SessionEnded' && x.reason === 'mcp-session-deleted'));
  });

  it('ends broken streams cleanly, forwards only what it recorded, and other sessions go on (fuzz)', async () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
      fc.constantFrom('\r', '\n', '\r\n\r\n', 'data: ', ': c\n', Buffer.from([0xf0, 0x9f]), Buffer.from([0xc3, 0x28])).map((s) => Buffer.from(s)),
      fc.constantFrom(PROGRESS, ELICIT, { jsonrpc: '2.0', id: 3, result: {} }, 'not json').map((v) => Buffer.from(ev(v))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 8 }), async (pieces) => {
        broken = pieces;
        const mark = h.sink.published.length;
        const ended = h.sink.bodies().filter((x) => x.type === 'SessionEnded').length;
        const r = await call(h, token, 'GET', '/mcp/broken', { accept: 'text/event-stream' });
        assert.equal(r.status, 200);
        const again = new SseParser();
        again.push(r.body);
        assert.equal(again.end().partial, false, 'the agent gets whole events only');
        // Every byte the agent got is in the recording, in order (one session per connection).
        await settle(h, (e) => e.filter((x) => x.type === 'SessionEnded').length > ended);
        const frames = h.sink.published.slice(mark).filter((e: ChainedEvent) => e.event.body.type === 'Frame' && (e.event.body).messageType === 'http.response.body');
        assert.deepEqual(Buffer.concat(frames.map((e) => (e.event.body as Frame).bytes)), r.body, 'forwarded bytes are recorded');
      }),
      { numRuns: 40 },
    );
    broken = [Buffer.from(ev({ jsonrpc: '2.0', id: 1, result: { ok: true } }))];
    const ok = await call(h, token, 'GET', '/mcp/broken', { accept: 'text/event-stream' });
    assert.equal(ok.body.toString(), ev({ jsonrpc: '2.0', id: 1, result: { ok: true } }));
    const failures = h.sink.bodies().filter((x) => x.type === 'Frame' && x.messageType === 'http.response.refused');
    assert.ok(failures.length > 0, 'some fuzzed streams were refused, and recorded as such');
  });

  it('refuses a POST body that is not valid UTF-8 with a JSON-RPC parse error, nothing forwarded', async () => {
    const before = up.seen.length;
    const body = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const q = request(`${h.base}/mcp/`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': body.length } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      q.on('error', reject);
      q.end(body);
    });
    assert.equal(r.status, 400);
    assert.match(r.body, /"code":-32700.*UTF-8/);
    assert.equal(up.seen.length, before);
  });
});
