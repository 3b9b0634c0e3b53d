import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { McpStreamError, SseParser, eventData, mcpStreamTransform, type McpStreamHooks, type ServerMessage } from './index.js';

const msg = (v: unknown): string => `event: message\ndata: ${JSON.stringify(v)}\n\n`;
const hooks = (over: Partial<McpStreamHooks> = {}): McpStreamHooks => ({ toolsIds: new Set(), mayCall: () => true, onHidden: () => {}, serverMessage: () => true, ...over });

/** Runs a stream split at `cut` through a transform; the output as text. */
function run(h: McpStreamHooks, bytes: Buffer, cut: number): { out: string; failure: McpStreamError | undefined } {
  const t = mcpStreamTransform(h);
  const out = Buffer.concat([t.push(bytes.subarray(0, cut)), t.push(bytes.subarray(cut)), t.end()]).toString();
  return { out, failure: t.failure };
}

describe('mcp SSE parser', () => {
  it('reads events with LF, CRLF and CR line ends split at every byte offset', () => {
    for (const nl of ['\n', '\r\n', '\r']) {
      const text = `\ufeff: hi${nl}id: 7${nl}event: message${nl}data: {"a":${nl}data:1}${nl}${nl}data: x${nl}${nl}`;
      const bytes = Buffer.from(text);
      for (let i = 0; i <= bytes.length; i++) {
        const p = new SseParser();
        const events = [...p.push(bytes.subarray(0, i)), ...p.push(bytes.subarray(i)), ...p.end().events];
        assert.deepEqual(events.map(eventData), ['{"a":\n1}', 'x'], `${JSON.stringify(nl)} split at ${i}`);
        assert.deepEqual(events[0]!.fields[0], ['', ' hi']);
      }
    }
  });

  it('refuses invalid UTF-8 and events over the limit; drops an unfinished last event', () => {
    const utf8 = new SseParser();
    assert.deepEqual(utf8.push(Buffer.concat([Buffer.from('data: 1\n\n'), Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xc3, 0x28, 0x0a])])), [{ fields: [['data', '1']] }]);
    assert.ok(utf8.failure instanceof McpStreamError && utf8.failure.code === 'SSE_INVALID_UTF8');
    assert.deepEqual(utf8.push(Buffer.from('data: 2\n\n')), [], 'nothing is read after a failure');
    const big = new SseParser(64);
    big.push(Buffer.from(`data: ${'x'.repeat(100)}`));
    assert.equal(big.failure?.code, 'SSE_EVENT_TOO_LARGE');
    const p = new SseParser();
    assert.deepEqual(p.push(Buffer.from('data: 1\n\ndata: 2')), [{ fields: [['data', '1']] }]);
    assert.deepEqual(p.end(), { events: [], partial: true });
  });
});

describe('mcp server event streams', () => {
  const sampling = { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } };
  const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };
  const result = { jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'done' }] } };

  it('decides each server request and notification; a refused one keeps only its event id', () => {
    const seen: ServerMessage[] = [];
    const h = hooks({ serverMessage: (m) => (seen.push(m), m.method !== 'sampling/createMessage') });
    const bytes = Buffer.from(`id: e1\n${msg(sampling)}id: e2\n${msg(progress)}${msg(result)}`);
    const { out } = run(h, Buffer.concat([Buffer.from('id: p0\ndata:\n\n'), bytes]), 17);
    assert.deepEqual(
      seen.map((m) => [m.kind, m.method, m.id]),
      [
        ['request', 'sampling/createMessage', 'srv-1'],
        ['notification', 'notifications/progress', null],
      ],
    );
    // The priming event (an id, empty data) passes as it is.
    assert.equal(out, `id: p0\ndata: \n\nid: e1\n\nid: e2\n${msg(progress)}${msg(result)}`);
  });

  it('filters tools/list answers of any id on a stream whose request came elsewhere, and rewrites the endpoint', () => {
    const list = { jsonrpc: '2.0', id: 9, result: { tools: [{ name: 'echo' }, { name: 'drop_table' }] } };
    const h = hooks({ toolsIds: 'any', mayCall: (t) => t !== 'drop_table', rewriteEndpoint: (u) => `/mcp-sse${u}` });
    const { out } = run(h, Buffer.from(`event: endpoint\ndata: /message?sessionId=abc\n\n${msg(list)}`), 5);
    assert.equal(out, `event: endpoint\ndata: /mcp-sse/message?sessionId=abc\n\n${msg({ ...list, result: { tools: [{ name: 'echo' }] } })}`);
  });

  it('ends a broken stream with a JSON-RPC error for each request still waiting, after the complete events', () => {
    const bad = Buffer.concat([Buffer.from(msg(result)), Buffer.from('data: {"jsonrpc":"2.0","id":5,"result":"'), Buffer.from([0xff, 0x0a, 0x0a])]);
    const { out, failure } = run(hooks({ pending: [4, 5] }), bad, 3);
    assert.equal(failure?.code, 'SSE_INVALID_UTF8');
    const events = out.split('\n\n').filter((e) => e !== '');
    assert.equal(events[0], msg(result).trimEnd());
    const err = JSON.parse(events[1]!.split('data: ')[1]!) as { id: number; error: { code: number; message: string } };
    assert.equal(err.id, 5);
    assert.equal(err.error.code, -32002);
    assert.match(err.error.message, /^chaperone: the server's event stream was ended by the gateway: .*UTF-8/);
    const notJson = run(hooks(), Buffer.from('event: message\ndata: hello\n\n'), 0);
    assert.equal(notJson.failure?.code, 'SSE_BAD_MESSAGE');
  });

  it('turns any byte stream into complete events or a failure, never an exception (fuzz)', () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      fc.constantFrom('\n', '\r', '\r\n', 'data: ', 'event: message\n', 'id: 3\n', ':c\n', '\n\n', '\xff').map((s) => Buffer.from(s, s === '\xff' ? 'latin1' : 'utf8')),
      fc.constantFrom(sampling, progress, result, 'x', 1).map((v) => Buffer.from(msg(v))),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.boolean(), (pieces, allow) => {
        const t = mcpStreamTransform(hooks({ serverMessage: () => allow, pending: [4] }), 256);
        const out = Buffer.concat([...pieces.map((p) => t.push(p)), t.end()]);
        // Whatever was forwarded is whole events, readable again by a strict parser.
        const again = new SseParser();
        again.push(out);
        assert.equal(again.end().partial, false);
        if (t.failure) assert.match(out.toString(), /"code":-32002/);
      }),
      { numRuns: 400 },
    );
  });
});
