/**
 * MCP results masked before they are recorded and forwarded (issue #15): the official SDK client
 * through haproxy and the gateway nodes to the test MCP server, whose results carry a secret in
 * text content, structured content and an embedded resource, streamed as SSE (the SDK server's
 * default answer to a POST), one of them after progress notifications. The agent gets them
 * masked, and the recording holds the masked bytes only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { commandsOf, httpBase, issueToken, sql, uniqueSubject } from './lib/http.js';
import { SECRET, fetchWithCa, forgetRunTools, startMcpServer } from './lib/mcp.js';
import { eventually, loadStack, type Stack } from './lib/stack.js';

const MASK = '[MASKED:github-token]';

describe('MCP gateway: results masked before recording and forwarding', () => {
  let stack: Stack;
  let upstream: Awaited<ReturnType<typeof startMcpServer>>;
  let client: Client;
  const subject = uniqueSubject('mcp-mask');

  before(async () => {
    stack = loadStack();
    const serverToken = readFileSync(`${stack.CHAPERONE_RUN_DIR}/secrets/mcp-server.token`, 'utf8').trim();
    upstream = await startMcpServer(Number(stack.MCP_TEST_PORT ?? 18903), serverToken);
    const transport = new StreamableHTTPClientTransport(new URL(`${httpBase(stack)}/mcp/`), {
      requestInit: { headers: { Authorization: `Bearer ${await issueToken(stack, subject)}` } },
      fetch: fetchWithCa(readFileSync(stack.TLS_CA_FILE!, 'utf8')),
    });
    client = new Client({ name: 'e2e-agent', version: '1.0.0' });
    await client.connect(transport);
    await client.listTools();
  });

  after(async () => {
    await client?.close();
    await upstream?.close();
    if (upstream) await forgetRunTools(stack, 'mcp', [upstream.weatherTool]);
  });

  it('masks the secret in text content, structured content and an embedded resource', async () => {
    const r = await client.callTool({ name: 'get_config', arguments: { service: 'billing' } });
    assert.equal(upstream.executed.filter((c) => c.tool === 'get_config').length, 1);
    assert.ok(!JSON.stringify(r).includes(SECRET), 'the secret never reaches the agent');
    assert.deepEqual(r.content, [
      { type: 'text', text: `config of billing: deploy token ${MASK}` },
      { type: 'resource', resource: { uri: 'config://billing', mimeType: 'text/plain', text: `DEPLOY_TOKEN=${MASK}` } },
    ]);
    assert.deepEqual(r.structuredContent, { service: 'billing', token: MASK });
  });

  it('streams progress notifications over SSE, then the masked result', async () => {
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const r = await client.callTool({ name: 'export_report', arguments: { steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p) });
    assert.deepEqual(
      progress.map((p) => [p.progress, p.total, p.message]),
      [
        [1, 3, 'step 1'],
        [2, 3, 'step 2'],
        [3, 3, 'step 3'],
      ],
    );
    assert.deepEqual(r.content, [{ type: 'text', text: `report ready; upload with ${MASK}` }]);
  });

  it('records the SSE streams masked: progress events and results, never the secret', async () => {
    const rows = await commandsOf(stack, subject, 4, "protocol = 'mcp'");
    const sessions = [...new Set(rows.map((r) => `'${r.session_id}'`))].join(',');
    const bodies = await eventually('the response bodies in ClickHouse', async () => {
      const b = await sql<{ body: string }>(stack, `SELECT payload AS body FROM events FINAL WHERE session_id IN (${sessions}) AND message_type = 'http.response.body' ORDER BY seq`);
      const all = b.map((x) => x.body).join('\n');
      return /report ready/.test(all) ? all : undefined;
    });
    assert.match(bodies, /event: message\ndata: \{"method":"notifications\/progress","params":\{"progressToken":\d+,"progress":2,"total":3,"message":"step 2"\}/, 'each progress event recorded as it streamed');
    assert.ok(bodies.includes(`upload with ${MASK}`) && bodies.includes(`DEPLOY_TOKEN=${MASK}`));
    const leaked = await sql<{ n: string }>(stack, `SELECT count() AS n FROM events WHERE session_id IN (${sessions}) AND position(payload, '${SECRET}') > 0`);
    assert.equal(Number(leaked[0]!.n), 0, 'the secret is nowhere in the recording');
  });
});
