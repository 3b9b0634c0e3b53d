/**
 * MCP servers through Chaperone (issue #15, first slice): the official MCP TypeScript SDK as the
 * agent, through the load-balanced TLS endpoint (haproxy → gateway nodes → an MCP server built
 * with the SDK that this test serves on the port of deploy/local's `mcp` connection, labelled
 * prod). initialize, tools/list filtered by the policy, an allowed call, a denied call answered
 * by the gateway with a JSON-RPC error, and the calls in the recording. A destructive tool is
 * held for approval (Temporal + the stack's approvals worker), approved with
 * `chaperone approvals approve`, and then runs exactly once (the server's own log): the same
 * call after it is refused, the approval being single use.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { commandsOf, frameCommands, httpBase, issueToken, sql, uniqueSubject } from './lib/http.js';
import { fetchWithCa, forgetRunTools, startMcpServer } from './lib/mcp.js';
import { chaperone, eventually, loadStack, type Stack } from './lib/stack.js';
import { loadConfig } from '@chaperone/config';
import { adminReader, checkMcpLoss } from '@chaperone/loadtest';
import { createHttpExecutor } from '@chaperone/store';

describe('MCP gateway: the MCP SDK client against an MCP server', () => {
  let stack: Stack;
  let token: string;
  let upstream: Awaited<ReturnType<typeof startMcpServer>>;
  let client: Client;
  const subject = uniqueSubject('mcp');
  const startedAt = Date.now() - 60_000;

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
    // Tool definitions are pinned for good: a test server whose tools were described otherwise by
    // an earlier revision of this file has them accepted, as an admin would after an upgrade.
    await client.listTools();
    const changed = await chaperone(stack, ['mcp', 'tools', 'ls', '--server', 'mcp', '--changed', '--json', '--token', await admin()]);
    assert.equal(changed.code, 0, changed.stderr);
    for (const t of JSON.parse(changed.stdout) as { tool: string }[]) {
      if (t.tool.startsWith('weather_')) continue;
      const ok = await chaperone(stack, ['mcp', 'tools', 'accept', 'mcp', t.tool, '--reason', 'e2e server revision', '--token', await admin()]);
      assert.equal(ok.code, 0, ok.stderr);
    }
  });
  const admin = () => issueToken(stack, 'user:admin', ['admins']);

  after(async () => {
    await client?.close();
    await upstream?.close();
    if (upstream) await forgetRunTools(stack, 'mcp', [upstream.weatherTool]);
  });

  it('initializes through the gateway, which injects the server credentials', () => {
    assert.equal(client.getServerVersion()?.name, 'e2e-records');
    assert.equal(upstream.unauthorized(), 0, 'every request reached the server with the injected bearer token');
  });

  it('lists only the tools the identity may call (run_shell hidden; delete_record listed: it may be approved)', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['delete_record', 'echo', 'export_report', 'get_config', 'read_file', upstream.weatherTool]);
  });

  it('forwards an allowed call and returns the server result', async () => {
    const r = await client.callTool({ name: 'read_file', arguments: { path: '/srv/notes.txt' } });
    assert.deepEqual(r.content, [{ type: 'text', text: 'contents of /srv/notes.txt' }]);
    const e = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    assert.deepEqual(e.content, [{ type: 'text', text: 'echo: hello' }]);
  });

  it('answers a denied call with a JSON-RPC error, and the server never sees it', async () => {
    await assert.rejects(client.callTool({ name: 'run_shell', arguments: { command: 'id' } }), (err: Error & { code?: number }) => {
      assert.equal(err.code, -32001);
      assert.match(err.message, /chaperone: denied by policy: the tool run_shell is not allowed through the gateway \(policy: mcp-denied-tool\)/);
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
        ['run_shell', 'DENY'],
        ['echo', 'ALLOW'],
      ],
    );
    const denied = calls[2]!;
    assert.match(denied.reasons[0]!, /\(policy: mcp-denied-tool\)$/);
    const details = JSON.parse(denied.details) as Record<string, unknown>;
    assert.equal(details.server, 'mcp');
    assert.equal(details.tool, 'run_shell');
    assert.deepEqual(details.arguments, { command: 'id' });
    assert.match(String(details.argsSha256), /^[0-9a-f]{64}$/);
    assert.match(String(details.mcpSessionId), /^[0-9a-f-]{36}$/, 'the Mcp-Session-Id the server assigned');
    assert.match(denied.text, /^tools\/call run_shell sha256:[0-9a-f]{64}$/);

    const sessions = [...new Set(rows.map((r) => `'${r.session_id}'`))].join(',');
    const bodies = await sql<{ dir: string; body: string }>(stack, `SELECT direction AS dir, payload AS body FROM events FINAL WHERE session_id IN (${sessions}) AND message_type = 'http.response.body' ORDER BY seq`);
    const out = bodies.map((b) => b.body).join('\n');
    assert.match(out, /contents of \/srv\/notes\.txt/, 'the allowed call result is recorded');
    assert.match(out, /denied by policy: the tool run_shell/, 'the gateway refusal is recorded');
    assert.ok(!/"name":"run_shell"/.test(out), 'the recorded tools/list answer is the filtered one');

    // Each call's request and answer (the server's result, or the gateway's JSON-RPC error) are its own (frame_commands).
    const owned = (m: Map<string, number>, r: { command_id: number }): boolean => (m.get(`${r.command_id} CLIENT_TO_SERVER`) ?? 0) > 0 && (m.get(`${r.command_id} SERVER_TO_CLIENT`) ?? 0) > 0;
    await frameCommands(stack, [...new Set(calls.map((r) => r.session_id))], (m) => calls.every((r) => owned(m, r)));
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
      { jsonrpc: '2.0', id: 102, method: 'tools/call', params: { name: 'run_shell', arguments: { command: 'whoami' } } },
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
    assert.match(answers[1]!.error.message, /\(policy: mcp-denied-tool\)/);
    const bad = await post('{"jsonrpc":"2.0",');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
    assert.ok(!upstream.executed.some((c) => c.args.message === 'batched' || c.tool === 'run_shell'), 'nothing of the batch reached the server');
  });

  /** The pending approval of this agent's call, as `chaperone approvals ls --json` lists it. */
  const pendingFor = (needle: string) =>
    eventually(`a pending approval for ${needle}`, async () => {
      const ls = await chaperone(stack, ['approvals', 'ls', '--json']);
      if (ls.code !== 0) throw new Error(ls.stderr);
      return (JSON.parse(ls.stdout) as { approvalId: string; subject: string; connection: string; command: string }[]).find((p) => p.subject === subject && p.command.includes(needle));
    });
  const approve = async (id: string) => {
    const ok = await chaperone(stack, ['approvals', 'approve', id, '--token', await issueToken(stack, 'user:alice', ['dba']), '--reason', 'e2e mcp']);
    assert.equal(ok.code, 0, ok.stderr);
  };
  const deletes = () => upstream.executed.filter((c) => c.tool === 'delete_record').map((c) => c.args.id);

  it('holds a destructive call; approved with the CLI while it waits, exactly that call runs once', async () => {
    const args = { id: 'r-held' };
    const call = client.callTool({ name: 'delete_record', arguments: args });
    const p = await pendingFor('tools/call delete_record');
    assert.equal(p.connection, 'mcp');
    assert.equal(p.command, `tools/call delete_record sha256:${createHash('sha256').update(JSON.stringify(args)).digest('hex')}`, 'bound to tool + canonical arguments, not the JSON-RPC id');
    assert.deepEqual(deletes(), [], 'not forwarded while held');
    await approve(p.approvalId);
    const r = await call;
    assert.deepEqual(r.content, [{ type: 'text', text: 'deleted r-held' }]);
    assert.deepEqual(deletes(), ['r-held'], 'the approved call reached the server exactly once');

    // Single use: the same call again is refused at once (not held), naming the approval it used.
    const again = await client.callTool({ name: 'delete_record', arguments: args }).then(
      () => assert.fail('the used approval released the call again'),
      (e: Error & { code?: number; data?: { approval: { id: string; status: string } } }) => e,
    );
    assert.equal(again.code, -32001);
    assert.deepEqual([again.data!.approval.id, again.data!.approval.status], [p.approvalId, 'used']);
    assert.match(again.message, new RegExp(`approval ${p.approvalId} was already used by session \\S+ .*an approved call runs once.*A new approval ${p.approvalId} from dba or sre-oncall was requested`));
    assert.deepEqual(deletes(), ['r-held'], "the server's own log: one execution");
    // The new request it made is pending; denied here so that nothing is left waiting.
    const deny = await chaperone(stack, ['approvals', 'deny', p.approvalId, '--token', await issueToken(stack, 'user:alice', ['dba']), '--reason', 'e2e: asked again']);
    assert.equal(deny.code, 0, deny.stderr);
  });

  it('answers a call still pending after approvals.httpHold with a JSON-RPC error carrying the approval id; the retry runs once approved', { timeout: 90_000 }, async () => {
    const holdMs = loadConfig(stack.CHAPERONE_CONFIG).approvals.httpHoldMs;
    const t0 = Date.now();
    const err = await client.callTool({ name: 'delete_record', arguments: { id: 'r-later' } }).then(
      () => assert.fail('the held call returned a result'),
      (e: Error & { code?: number; data?: { decision: string; approval: { id: string; status: string; approverGroups: string[]; retryAfterSeconds: number } } }) => e,
    );
    assert.ok(Date.now() - t0 >= holdMs - 1000, `held ${Date.now() - t0} ms, approvals.httpHold is ${holdMs} ms`);
    assert.equal(err.code, -32001);
    const approval = err.data!.approval;
    assert.match(approval.id, /^approval-[0-9a-f]{64}$/);
    assert.deepEqual([err.data!.decision, approval.status, approval.approverGroups], ['approval', 'pending', ['dba', 'sre-oncall']]);
    assert.match(err.message, new RegExp(`needs approval .*\\(policy: mcp-destructive-tool\\)\\); approval ${approval.id} from dba or sre-oncall is still pending`));
    assert.deepEqual(deletes(), ['r-held']);
    await approve(approval.id);
    const r = await client.callTool({ name: 'delete_record', arguments: { id: 'r-later' } });
    assert.deepEqual(r.content, [{ type: 'text', text: 'deleted r-later' }]);
    assert.deepEqual(deletes(), ['r-held', 'r-later'], 'each approved call ran exactly once');
  });

  it('loses no call: every call the server executed is recorded once, every allowed call recorded was executed once', async () => {
    // The loss checker's MCP rule: the server's own log against the recording.
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const exec = createHttpExecutor(config.clickhouse);
    try {
      const executed = upstream.executed.map((c) => ({ tool: c.tool, args: c.args }));
      const inputs = { store: adminReader(exec), sinceMs: startedAt, subjects: [subject], connection: 'mcp', executed };
      // An approved call reads as refused until its ApprovalResolved is materialized too: wait
      // for both the calls and their approval outcomes.
      const report = await eventually('every executed call and approval outcome in ClickHouse', async () => {
        const r = await checkMcpLoss(inputs);
        return r.missing.length === 0 && r.deniedButExecuted.length === 0 ? r : undefined;
      }, 60_000).catch(async () => assert.fail(JSON.stringify(await checkMcpLoss(inputs))));
      assert.deepEqual({ missing: report.missing, unexecuted: report.unexecuted, notForwarded: report.notForwarded, deniedButExecuted: report.deniedButExecuted }, { missing: [], unexecuted: [], notForwarded: [], deniedButExecuted: [] });
      assert.equal(report.recorded, executed.length, 'each executed call recorded as allowed (or approved) exactly once');
    } finally {
      await exec.close();
    }
  });
});
