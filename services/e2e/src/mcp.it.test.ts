/**
 * MCP servers through Chaperone (issue #15, first slice): the official MCP TypeScript SDK as the
 * agent, through the load-balanced TLS endpoint (haproxy → gateway nodes → an MCP server built
 * with the SDK that this test serves on the port of deploy/local's `mcp` connection, labelled
 * prod). initialize, tools/list filtered by the policy, an allowed call, a denied call answered
 * by the gateway with a JSON-RPC error, and the calls in the recording.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { commandsOf, httpBase, issueToken, sql, uniqueSubject } from './lib/http.js';
import { fetchWithCa, startMcpServer } from './lib/mcp.js';
import { loadStack, type Stack } from './lib/stack.js';

describe('MCP gateway: the MCP SDK client against an MCP server', () => {
  let stack: Stack;
  let token: string;
  let upstream: Awaited<ReturnType<typeof startMcpServer>>;
  let client: Client;
  const subject = uniqueSubject('mcp');

  before(async () => {
    stack = loadStack();
    token = await issueToken(stack, subject);
    const serverToken = readFileSync(`${stack.CHAPERONE_RUN_DIR}/secrets/mcp-server.token`, 'utf8').trim();
    upstream = await startMcpServer(Number(stack.MCP_TEST_PORT ?? 18903), serverToken);
    const transport = new StreamableHTTPClientTransport(new URL(`${httpBase(stack)}/mcp/`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: fetchWithCa(readFileSync(stack.TLS_CA_FILE!, 'utf8')),
    });
    client = new Client({ name: 'e2e-agent', version: '1.0.0' });
    await client.connect(transport);
  });

  after(async () => {
    await client?.close();
    await upstream?.close();
  });

  it('initializes through the gateway, which injects the server credentials', () => {
    assert.equal(client.getServerVersion()?.name, 'e2e-records');
    assert.equal(upstream.unauthorized(), 0, 'every request reached the server with the injected bearer token');
  });

  it('lists only the tools the identity may call (delete_record hidden on a prod server)', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['echo', 'read_file']);
  });

  it('forwards an allowed call and returns the server result', async () => {
    const r = await client.callTool({ name: 'read_file', arguments: { path: '/srv/notes.txt' } });
    assert.deepEqual(r.content, [{ type: 'text', text: 'contents of /srv/notes.txt' }]);
    const e = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    assert.deepEqual(e.content, [{ type: 'text', text: 'echo: hello' }]);
  });

  it('answers a denied call with a JSON-RPC error, and the server never sees it', async () => {
    await assert.rejects(client.callTool({ name: 'delete_record', arguments: { id: 'r-1' } }), (err: Error & { code?: number }) => {
      assert.equal(err.code, -32001);
      assert.match(err.message, /chaperone: denied by policy: the tool delete_record looks destructive.*\(policy: mcp-destructive-tool\)/);
      return true;
    });
    assert.deepEqual(
      upstream.executed.map((c) => c.tool),
      ['read_file', 'echo'],
    );
    // The session goes on after a refusal.
    const again = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.deepEqual(again.content, [{ type: 'text', text: 'echo: still here' }]);
  });

  it('records every JSON-RPC request as a command with its decision, and the bodies', async () => {
    const rows = await commandsOf(stack, subject, 7, "protocol = 'mcp'");
    const actions = rows.map((r) => r.action);
    for (const a of ['initialize', 'notifications/initialized', 'tools/list', 'tools/call']) assert.ok(actions.includes(a), `${a} recorded: ${actions.join(', ')}`);
    const calls = rows.filter((r) => r.action === 'tools/call');
    assert.deepEqual(
      calls.map((r) => [r.targets[0], r.decision]),
      [
        ['read_file', 'ALLOW'],
        ['echo', 'ALLOW'],
        ['delete_record', 'DENY'],
        ['echo', 'ALLOW'],
      ],
    );
    const denied = calls[2]!;
    assert.match(denied.reasons[0]!, /\(policy: mcp-destructive-tool\)$/);
    const details = JSON.parse(denied.details) as Record<string, unknown>;
    assert.equal(details.server, 'mcp');
    assert.equal(details.tool, 'delete_record');
    assert.deepEqual(details.arguments, { id: 'r-1' });
    assert.match(String(details.argsSha256), /^[0-9a-f]{64}$/);
    assert.match(String(details.mcpSessionId), /^[0-9a-f-]{36}$/, 'the Mcp-Session-Id the server assigned');
    assert.match(denied.text, /^tools\/call delete_record sha256:[0-9a-f]{64}$/);

    const sessions = [...new Set(rows.map((r) => `'${r.session_id}'`))].join(',');
    const bodies = await sql<{ dir: string; body: string }>(stack, `SELECT direction AS dir, payload AS body FROM events FINAL WHERE session_id IN (${sessions}) AND message_type = 'http.response.body' ORDER BY seq`);
    const out = bodies.map((b) => b.body).join('\n');
    assert.match(out, /contents of \/srv\/notes\.txt/, 'the allowed call result is recorded');
    assert.match(out, /denied by policy: the tool delete_record/, 'the gateway refusal is recorded');
    assert.ok(!/"name":"delete_record"/.test(out), 'the recorded tools/list answer is the filtered one');
  });

  it('refuses a batch with a denied call as a whole, and malformed JSON with -32700', async () => {
    const post = (body: string): Promise<Response> =>
      fetchWithCa(readFileSync(stack.TLS_CA_FILE!, 'utf8'))(`${httpBase(stack)}/mcp/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body,
      });
    const batch = [
      { jsonrpc: '2.0', id: 101, method: 'tools/call', params: { name: 'echo', arguments: { message: 'batched' } } },
      { jsonrpc: '2.0', id: 102, method: 'tools/call', params: { name: 'delete_record', arguments: { id: 'r-2' } } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
    ];
    const r = await post(JSON.stringify(batch));
    assert.equal(r.status, 200);
    const answers = (await r.json()) as { id: number; error: { code: number; message: string } }[];
    assert.deepEqual(
      answers.map((a) => [a.id, a.error.code]),
      [
        [101, -32001],
        [102, -32001],
      ],
    );
    assert.match(answers[0]!.error.message, /another request in the same batch was denied/);
    assert.match(answers[1]!.error.message, /\(policy: mcp-destructive-tool\)/);
    const bad = await post('{"jsonrpc":"2.0",');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
    assert.ok(!upstream.executed.some((c) => c.args.message === 'batched' || c.tool === 'delete_record'), 'nothing of the batch reached the server');
  });
});
