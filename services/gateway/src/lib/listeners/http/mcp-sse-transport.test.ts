/**
 * MCP over the HTTP+SSE transport of 2024-11-05 (GET /sse, then POSTs to the endpoint it names)
 * through an mcp connection (issue #15), with the SDK on both sides: SSEClientTransport as the
 * agent and SSEServerTransport as the server. The endpoint event is rewritten to the gateway's
 * address; calls are decided (a denied one fails the SDK call with the JSON-RPC error, 403);
 * tools/list answers on the stream are filtered; results on the stream are masked and recorded
 * masked; the server's elicitation request on a production server is refused by the gateway
 * (answered to the server, never shown to the agent).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Command, Decision, Frame } from '@chaperone/events';
import { settle, startHarness, type Harness } from './harness.js';
import { errorMessage } from '@chaperone/observability';

const SECRET = `ghp_${'Q7w8E9r0T1'.repeat(3)}yUi456`;

/** A server speaking HTTP+SSE (SDK SSEServerTransport); `executed` is its own log of tool calls. */
async function startSseServer(): Promise<{ server: Server; url: string; executed: string[]; elicitations: string[] }> {
  const executed: string[] = [];
  const elicitations: string[] = [];
  const transports = new Map<string, SSEServerTransport>();
  const build = (): McpServer => {
    const mcp = new McpServer({ name: 'legacy', version: '1.0.0' });
    mcp.registerTool('echo', { description: 'Echoes', inputSchema: { message: z.string() } }, ({ message }) => {
      executed.push(`echo ${message}`);
      return { content: [{ type: 'text', text: `echo: ${message} token ${SECRET}` }] };
    });
    mcp.registerTool('delete_record', { description: 'Deletes a record', inputSchema: { id: z.string() } }, ({ id }) => {
      executed.push(`delete_record ${id}`);
      return { content: [{ type: 'text', text: `deleted ${id}` }] };
    });
    mcp.registerTool('ask_user', { description: 'Asks the user a question', inputSchema: {} }, async () => {
      executed.push('ask_user');
      try {
        const r = await mcp.server.elicitInput({ mode: 'form', message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } });
        return { content: [{ type: 'text', text: `answered ${r.action}` }] };
      } catch (err) {
        elicitations.push(errorMessage(err));
        return { content: [{ type: 'text', text: `refused: ${errorMessage(err)}` }] };
      }
    });
    return mcp;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/sse') {
      const t = new SSEServerTransport('/message', res);
      transports.set(t.sessionId, t);
      void build().connect(t);
      return;
    }
    const t = transports.get(url.searchParams.get('sessionId') ?? '');
    if (req.method === 'POST' && url.pathname === '/message' && t) return void t.handlePostMessage(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, executed, elicitations };
}

describe('HTTP listener: MCP over HTTP+SSE (2024-11-05)', () => {
  let up: Awaited<ReturnType<typeof startSseServer>>;
  let h: Harness;
  let client: Client;
  const agentElicitations: unknown[] = [];
  before(async () => {
    up = await startSseServer();
    h = await startHarness(
      [{ name: 'legacy', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, kind: 'mcp', pathPrefix: '/legacy/', bodies: { byContentType: { 'text/event-stream': 'full' } } } }],
      (input) => {
        const mcp = input.command.mcp as { tool?: string; method?: string; direction?: string } | undefined;
        if (mcp?.tool === 'delete_record') return { result: 'deny', reasons: ['destructive (policy: test)'] };
        if (mcp?.direction === 'server' && mcp.method === 'elicitation/create') return { result: 'deny', reasons: ['no elicitation on prod (policy: test)'] };
        return { result: 'allow', reasons: [] };
      },
    );
    const token = await h.token();
    client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      agentElicitations.push(req);
      return { action: 'decline' };
    });
    await client.connect(new SSEClientTransport(new URL(`${h.base}/legacy/sse`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  });
  after(async () => {
    await client.close();
    await h.close();
    up.server.closeAllConnections();
    up.server.close();
  });

  it('lists the tools the agent may call and runs an allowed call, its result masked on the stream and in the record', async () => {
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['ask_user', 'echo']);
    const r = (await client.callTool({ name: 'echo', arguments: { message: 'hi' } })) as { content: { text: string }[] };
    assert.match(r.content[0]!.text, /^echo: hi token /);
    assert.ok(!r.content[0]!.text.includes(SECRET), 'the secret is masked on its way to the agent');
    assert.deepEqual(up.executed, ['echo hi']);
    const events = await settle(h, (e) => e.some((x) => x.type === 'Frame' && x.direction === 'SERVER_TO_CLIENT' && x.bytes.includes('echo: hi')));
    const bodies = events.filter((x): x is Frame => x.type === 'Frame' && x.direction === 'SERVER_TO_CLIENT');
    assert.ok(!bodies.some((f) => f.bytes.includes(SECRET)), 'the record has no secret');
    const cmd = events.find((x): x is Command => x.type === 'Command' && x.action === 'tools/call');
    assert.match(cmd!.text, /^tools\/call echo sha256:[0-9a-f]{64}$/);
  });

  it('refuses a denied call: the SDK call fails with the JSON-RPC error, the server never runs it', async () => {
    await assert.rejects(client.callTool({ name: 'delete_record', arguments: { id: '7' } }), /HTTP 403.*chaperone: denied by policy: destructive \(policy: test\)/);
    assert.ok(!up.executed.some((e) => e.startsWith('delete_record')));
  });

  it("refuses the server's elicitation request on the stream: answered to the server, never shown to the agent", async () => {
    const r = (await client.callTool({ name: 'ask_user', arguments: {} })) as { content: { text: string }[] };
    assert.match(r.content[0]!.text, /^refused: .*chaperone: denied by policy: no elicitation on prod/);
    assert.deepEqual(agentElicitations, []);
    const events = await settle(h, (e) => e.some((x) => x.type === 'Command' && x.action === 'elicitation/create'));
    const chained = h.sink.published.find((e) => e.event.body.type === 'Command' && e.event.body.action === 'elicitation/create')!;
    const cmd = chained.event.body as Command;
    assert.equal((JSON.parse(cmd.detailsJson) as { direction: string }).direction, 'server');
    // Command ids count per session: the decision is the one of the stream's session.
    const decision = h.sink.published.find((e) => e.event.sessionId === chained.event.sessionId && e.event.body.type === 'Decision' && e.event.body.commandId === cmd.commandId);
    assert.equal((decision?.event.body as Decision | undefined)?.result, 'DENY');
    assert.ok(events.some((x) => x.type === 'Frame' && x.messageType === 'mcp.gateway.answer'));
  });
});
