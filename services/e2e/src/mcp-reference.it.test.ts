/**
 * The reference MCP servers from npm through Chaperone (issue #15), as deploy/local runs them:
 * `everything` over its own Streamable HTTP transport (dev-labelled), `filesystem` (stdio) over
 * Streamable HTTP through mcp-proxy with an X-API-Key the gateway injects (prod-labelled). The
 * official SDK client is the agent, through haproxy: the long-running operation's progress
 * streams over SSE and is recorded; a file holding a secret is read back masked, and recorded
 * masked; the filesystem's write tool stays listed (held for approval on prod, not hidden); one
 * MCP session continued through the other gateway node is found, across both, by Mcp-Session-Id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { commandsOf, httpBase, issueToken, sql, uniqueSubject } from './lib/http.js';
import { SECRET, fetchWithCa } from './lib/mcp.js';
import { chaperone, eventually, loadStack, type Stack } from './lib/stack.js';

describe('MCP gateway: the reference servers from npm', () => {
  let stack: Stack;
  let everything: Client;
  let files: Client;
  const subject = uniqueSubject('mcp-ref');

  const connect = async (prefix: string, opts: { base?: string; sessionId?: string } = {}): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${opts.base ?? httpBase(stack)}${prefix}`), {
      requestInit: { headers: { Authorization: `Bearer ${await issueToken(stack, subject)}` } },
      fetch: fetchWithCa(readFileSync(stack.TLS_CA_FILE!, 'utf8')),
      ...(opts.sessionId ? { sessionId: opts.sessionId } : {}),
    });
    const c = new Client({ name: 'e2e-agent', version: '1.0.0' });
    await c.connect(transport);
    return c;
  };

  before(async () => {
    stack = loadStack();
    assert.ok(stack.MCP_FILES_DIR, 'stack.json has no MCP_FILES_DIR: restart the stack with a deploy/local that runs the reference MCP servers (deploy/local/up)');
    everything = await connect('/mcp-everything/');
    files = await connect('/mcp-files/mcp');
  });

  after(async () => {
    await everything?.close();
    await files?.close();
  });

  it('everything: initialize and an allowed call', async () => {
    assert.equal(everything.getServerVersion()?.name, 'mcp-servers/everything');
    const names = (await everything.listTools()).tools.map((t) => t.name);
    for (const t of ['echo', 'trigger-long-running-operation', 'get-structured-content']) assert.ok(names.includes(t), `${t} listed: ${names.join(', ')}`);
    assert.deepEqual((await everything.callTool({ name: 'echo', arguments: { message: 'through chaperone' } })).content, [{ type: 'text', text: 'Echo: through chaperone' }]);
  });

  it('everything: the long-running operation streams its progress over SSE, and it is recorded', async () => {
    const progress: number[] = [];
    const r = await everything.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2, 3]);
    assert.match(JSON.stringify(r.content), /Long running operation completed\. Duration: 1 seconds, Steps: 3\./);
    const rows = await commandsOf(stack, subject, 1, "protocol = 'mcp' AND action = 'tools/call' AND text LIKE 'tools/call trigger-long-running-operation %'");
    const bodies = await eventually('the SSE stream recorded', async () => {
      const b = await sql<{ body: string }>(stack, `SELECT payload AS body FROM events FINAL WHERE session_id = '${rows[0]!.session_id}' AND message_type = 'http.response.body' ORDER BY seq`);
      const all = b.map((x) => x.body).join('');
      return /Long running operation completed/.test(all) ? all : undefined;
    });
    for (const i of [1, 2, 3]) assert.match(bodies, new RegExp(`"method":"notifications/progress","params":\\{[^}]*"progress":${i},"total":3`));
  });

  it('one MCP session served by both gateway nodes is found by its Mcp-Session-Id across them', async () => {
    const nodes = stack.GATEWAY_HTTP_PROXY_ADDRESSES!.split(',').map((a) => `https://${a}`);
    assert.ok(nodes.length >= 2, 'the stack runs two gateway nodes');
    const first = await connect('/mcp-everything/', { base: nodes[0]! });
    const sessionId = (first as unknown as { transport: StreamableHTTPClientTransport }).transport.sessionId!;
    await first.callTool({ name: 'echo', arguments: { message: 'on node 1' } });
    // The same MCP session continued through the other node (the SDK resumes by session id).
    const second = await connect('/mcp-everything/', { base: nodes[1]!, sessionId });
    assert.deepEqual((await second.callTool({ name: 'echo', arguments: { message: 'on node 2' } })).content, [{ type: 'text', text: 'Echo: on node 2' }]);
    await first.close();
    await second.close();
    // How the SOC finds one MCP session's calls, whichever nodes served them.
    const q = `SELECT DISTINCT node_id AS node FROM sessions FINAL WHERE session_id IN (SELECT session_id FROM commands FINAL WHERE protocol = 'mcp' AND visitParamExtractString(details, 'mcpSessionId') = '${sessionId}') ORDER BY node`;
    const found = await eventually('the MCP session on both nodes', async () => {
      const rows = await sql<{ node: string }>(stack, q);
      return rows.length >= 2 ? rows.map((r) => r.node) : undefined;
    });
    assert.deepEqual(found, ['gw-1', 'gw-2']);
    // …and replayed as one transcript, in time order, each call with the node that served it.
    const replay = await eventually('the MCP session replayed from both nodes', async () => {
      const r = await chaperone(stack, ['replay', '--mcp-session', sessionId, '--no-wait']);
      return r.code === 0 && /Echo: on node 2/.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(replay, new RegExp(`^MCP session ${sessionId}: \\d+ gateway sessions on gw-1, gw-2, in time order`));
    const order = [...replay.matchAll(/── served by node (gw-\d)|result \d+: Echo: (on node \d)/g)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(order.filter((x) => x!.startsWith('on node')), ['on node 1', 'on node 2'], 'the calls in time order');
    assert.ok(order.indexOf('on node 1') > order.indexOf('gw-1') && order.lastIndexOf('gw-2') < order.indexOf('on node 2'), replay);
    const json = await chaperone(stack, ['replay', '--mcp-session', sessionId, '--json']);
    const doc = JSON.parse(json.stdout) as { commands: { nodeId: string; text: string }[] };
    assert.deepEqual([...new Set(doc.commands.filter((c) => c.text.startsWith('tools/call echo')).map((c) => c.nodeId))], ['gw-1', 'gw-2']);
  });

  it('filesystem (prod): a read is allowed and its secret masked; write_file stays listed (the policy holds it, it does not hide it)', async () => {
    const dir = join(stack.MCP_FILES_DIR!, 'docs');
    mkdirSync(dir, { recursive: true });
    const name = `${subject.replace(/[^a-z0-9-]/gi, '-')}.env`;
    writeFileSync(join(dir, name), `GITHUB_TOKEN=${SECRET}\n`);
    const names = (await files.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('read_text_file') && names.includes('write_file'), names.join(', '));
    const r = await files.callTool({ name: 'read_text_file', arguments: { path: join(dir, name) } });
    assert.ok(!JSON.stringify(r).includes(SECRET), 'the secret never reaches the agent');
    // The detectors name what they found (here the assignment of a secret-looking variable).
    assert.match(JSON.stringify(r.content), /GITHUB_TOKEN=\[MASKED:[a-z-]+\]/);
    const rows = await commandsOf(stack, subject, 1, "protocol = 'mcp' AND action = 'tools/call' AND text LIKE 'tools/call read_text_file %'");
    assert.equal(rows[0]!.decision, 'ALLOW');
    const leaked = await sql<{ n: string }>(stack, `SELECT count() AS n FROM events WHERE session_id = '${rows[0]!.session_id}' AND position(payload, '${SECRET}') > 0`);
    assert.equal(Number(leaked[0]!.n), 0, 'the secret is nowhere in the recording');
  });
});
