import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { argsSha256, canonicalJson, jsonToolsFilter, McpParseError, mcpStreamTransform, parseJsonRpcBody } from './index.js';

const body = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const toolNames = (json: string): string[] => (JSON.parse(json) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);

describe('mcp JSON-RPC parsing', () => {
  it('reads a tools/call: tool, arguments and the hash of their canonical JSON', () => {
    const { batch, messages } = parseJsonRpcBody(body({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { b: 1, a: [{ y: 2, x: 1 }] } } }));
    assert.equal(batch, false);
    assert.deepEqual(messages[0], { kind: 'request', id: 7, method: 'tools/call', tool: 'echo', arguments: { b: 1, a: [{ y: 2, x: 1 }] }, argsSha256: argsSha256({ a: [{ x: 1, y: 2 }], b: 1 }) });
    assert.equal(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] }), '{"a":[{"x":1,"y":2}],"b":1}');
  });

  it('reads batches, notifications, resources/read and client responses', () => {
    const { batch, messages } = parseJsonRpcBody(
      body([
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 'r', method: 'resources/read', params: { uri: 'file:///etc/hosts' } },
        { jsonrpc: '2.0', id: 3, result: {} },
      ]),
    );
    assert.equal(batch, true);
    assert.deepEqual(
      messages.map((m) => [m.kind, m.method, m.tool]),
      [
        ['notification', 'notifications/initialized', undefined],
        ['request', 'resources/read', 'file:///etc/hosts'],
        ['response', '', undefined],
      ],
    );
  });

  it('turns malformed bodies into McpParseError with the JSON-RPC code', () => {
    for (const [b, code] of [
      ['{not json', -32700],
      ['[]', -32600],
      ['{"jsonrpc":"1.0","method":"x"}', -32600],
      ['{"jsonrpc":"2.0","id":{},"method":"x"}', -32600],
      ['42', -32600],
      [`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${'['.repeat(5000)}${']'.repeat(5000)}}}`, -32600],
    ] as const) {
      assert.throws(() => parseJsonRpcBody(Buffer.from(b)), (e: unknown) => e instanceof McpParseError && (e.code as number) === code, b);
    }
    // Invalid UTF-8 (a lone 0xff inside a string) is refused, not read with U+FFFD in its place.
    const bad = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    assert.throws(() => parseJsonRpcBody(bad), (e: unknown) => e instanceof McpParseError && (e.code as number) === -32700 && /UTF-8/.test(e.message));
  });
});

describe('mcp JSON-RPC parsing under fuzzing', () => {
  it('turns any body into messages or an McpParseError, never another exception', () => {
    const message = fc.record({ jsonrpc: fc.constantFrom('2.0', '1.0', 2), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object()), method: fc.oneof(fc.constantFrom('tools/call', 'tools/list', 'resources/read', 'prompts/get'), fc.string()), params: fc.oneof(fc.object(), fc.jsonValue()) }, { requiredKeys: [] });
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.oneof(message, fc.array(message, { maxLength: 4 })).map((v) => Buffer.from(JSON.stringify(v))),
    );
    fc.assert(
      fc.property(body, (b) => {
        try {
          const { messages } = parseJsonRpcBody(b);
          for (const m of messages) if (m.argsSha256 !== undefined) assert.match(m.argsSha256, /^[0-9a-f]{64}$/);
        } catch (err) {
          if (!(err instanceof McpParseError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('mcp tools/list filter', () => {
  const answer = { jsonrpc: '2.0', id: 2, result: { tools: [{ name: 'echo' }, { name: 'delete_record' }, { name: 'read_file' }] } };
  const mayCall = (t: string): boolean => !t.startsWith('delete');

  it('filters a JSON answer to the listed request only', () => {
    const hidden: string[][] = [];
    const f = jsonToolsFilter(new Set([2]), mayCall, (h) => hidden.push(h));
    const raw = body(answer);
    assert.equal(f.push(raw.subarray(0, 10)).length, 0);
    const out = Buffer.concat([f.push(raw.subarray(10)), f.end()]);
    assert.deepEqual(toolNames(out.toString()), ['echo', 'read_file']);
    assert.deepEqual(hidden, [['delete_record']]);
    const other = jsonToolsFilter(new Set([9]), mayCall, () => {});
    other.push(raw);
    assert.deepEqual(JSON.parse(other.end().toString()), answer);
  });

  it('filters an SSE answer split at every byte offset', () => {
    const sse = Buffer.from(`event: message\nid: 1\ndata: ${JSON.stringify(answer)}\n\n: ping\n\n`);
    for (let i = 0; i <= sse.length; i++) {
      const f = mcpStreamTransform({ toolsIds: new Set([2]), mayCall, onHidden: () => {}, serverMessage: () => true });
      const out = Buffer.concat([f.push(sse.subarray(0, i)), f.push(sse.subarray(i)), f.end()]).toString();
      const data = out.split('\n').find((l) => l.startsWith('data: '))!;
      assert.deepEqual(toolNames(data.slice(6)), ['echo', 'read_file'], `split at ${i}`);
      assert.match(out, /^event: message\nid: 1\ndata: .*\n\n: ping\n\n$/);
    }
  });
});
