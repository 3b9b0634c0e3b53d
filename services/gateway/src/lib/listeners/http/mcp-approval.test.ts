/**
 * MCP tool calls held for approval (issue #15): the approval is bound to server + tool + the
 * SHA-256 of the canonical arguments + identity, never to the JSON-RPC id; a pending hold is
 * answered with a JSON-RPC error carrying the approval; once approved, the same call (new id,
 * keys in another order) goes through, and other arguments ask again.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import { TemporalApprovalGate, type ApprovalWorkflows, type LatestRun, type UseClaim } from '../../approvals/index.js';
import { approvalBinding, approvalWorkflowId, type ApprovalRequest, type ApprovalResult, type ApprovalUse } from '@chaperone/approvals-contract';
import { argsSha256 } from '../../protocols/mcp/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import { batchDecisions } from './analyze-mcp.js';
import { startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

/** Temporal as the gate sees it: the latest run per approval id, decided by the test; a run's first use wins. */
class Runs implements ApprovalWorkflows {
  readonly runs = new Map<string, { runId: string; request: ApprovalRequest; result?: ApprovalResult }>();
  readonly uses = new Map<string, ApprovalUse>();
  private n = 0;
  latest(id: string): Promise<LatestRun> {
    const r = this.runs.get(id);
    return Promise.resolve(!r ? { state: 'NONE' } : r.result ? { state: 'CLOSED', runId: r.runId, result: r.result } : { state: 'RUNNING', runId: r.runId });
  }
  start(id: string, request: ApprovalRequest): Promise<{ runId: string }> {
    const r = this.runs.get(id);
    if (r && !r.result) return Promise.resolve({ runId: r.runId });
    this.runs.set(id, { runId: `run-${++this.n}`, request });
    return Promise.resolve({ runId: `run-${this.n}` });
  }
  consume(use: ApprovalUse): Promise<UseClaim> {
    const first = this.uses.get(use.runId);
    if (first) return Promise.resolve({ won: false, usedBy: first });
    this.uses.set(use.runId, use);
    return Promise.resolve({ won: true });
  }
  result(id: string, _run: string, signal: AbortSignal): Promise<ApprovalResult> {
    const r = this.runs.get(id)!;
    if (r.result) return Promise.resolve(r.result);
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const HOLD = 300;
const approvals: Config['approvals'] = { timeoutMs: 60_000, httpHoldMs: HOLD, escalation: undefined, approvers: [], slack: undefined };

function post(h: Harness, token: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const r = request(`${h.base}/mcp/`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', reject);
    r.end(data);
  });
}

const call = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('HTTP listener: MCP tool calls held for approval', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  const temporal = new Runs();
  before(async () => {
    up = await startUpstream((req, res) => {
      const msg = JSON.parse(req.body.toString()) as { id: number };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: 'deleted' }] } }));
    });
    const gate = new TemporalApprovalGate(temporal, approvals, createLogger({ name: 'gate', level: 'silent' }));
    h = await startHarness(
      [{ name: 'records', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp/', credentials: { type: 'bearer', token: { value: 's' } } } }],
      (input) => {
        const mcp = input.command.mcp as { tool?: string } | undefined;
        if (mcp?.tool === 'delete_record') return { result: 'approval', reasons: ['destructive (policy: test)'], approval: { approverGroups: ['dba'], quorum: 1, ttlMs: 600_000 } };
        if (mcp?.tool === 'run_shell') return { result: 'deny', reasons: ['no shells (policy: test)'] };
        return { result: 'allow', reasons: [] };
      },
      {},
      { approvals: gate, raw: { approvals: { httpHold: `${HOLD}ms` } } },
    );
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  const expectedId = (args: Record<string, unknown>) => approvalWorkflowId(approvalBinding('agent:test', 'records', `tools/call delete_record sha256:${argsSha256(args)}`));

  it('holds the call, then answers a JSON-RPC error with the approval; approved, the retry (another id) is forwarded once', async () => {
    const seen = up.seen.length;
    const t0 = Date.now();
    const held = await post(h, token, call(7, 'delete_record', { id: 'r-1', force: true }));
    assert.ok(Date.now() - t0 >= HOLD - 20, 'held for approvals.httpHold');
    assert.equal(held.status, 200);
    const err = (JSON.parse(held.body) as { id: number; error: { code: number; message: string; data: { decision: string; approval: { id: string; status: string; approverGroups: string[] } } } }).error;
    const id = expectedId({ id: 'r-1', force: true });
    assert.equal(err.code, -32001);
    assert.match(err.message, new RegExp(`needs approval \\(destructive \\(policy: test\\)\\); approval ${id} from dba is still pending`));
    assert.deepEqual([err.data.decision, err.data.approval.id, err.data.approval.status, err.data.approval.approverGroups], ['approval', id, 'pending', ['dba']]);
    assert.equal(up.seen.length, seen, 'not forwarded while pending');
    assert.equal(temporal.runs.get(id)!.request.commandText, `tools/call delete_record sha256:${argsSha256({ id: 'r-1', force: true })}`);

    temporal.runs.get(id)!.result = { outcome: 'APPROVED', answers: [{ approver: 'user:alice', via: 'cli', at: '' }], validUntil: new Date(Date.now() + 60_000).toISOString() };
    const ok = await post(h, token, call(8, 'delete_record', { force: true, id: 'r-1' }));
    assert.deepEqual(JSON.parse(ok.body), { jsonrpc: '2.0', id: 8, result: { content: [{ type: 'text', text: 'deleted' }] } });
    assert.equal(up.seen.length, seen + 1, 'the approved call reached the server once');
    assert.equal((JSON.parse(up.seen.at(-1)!.body.toString()) as { id: number }).id, 8);

    // Single use: the same call again is refused at once, and a new approval is requested.
    const again = await post(h, token, call(12, 'delete_record', { id: 'r-1', force: true }));
    const used = (JSON.parse(again.body) as { error: { code: number; message: string; data: { approval: { id: string; status: string; retryAfterSeconds: number } } } }).error;
    assert.equal(used.code, -32001);
    assert.match(used.message, new RegExp(`approval ${id} was already used by session \\S+ \\(command \\d+\\) on \\S+ at .*: an approved call runs once, so this one was not forwarded\\. A new approval ${id} from dba was requested`));
    assert.deepEqual([used.data.approval.id, used.data.approval.status, used.data.approval.retryAfterSeconds], [id, 'used', 5]);
    assert.equal(up.seen.length, seen + 1, 'the used approval released nothing more');
    assert.equal(temporal.runs.get(id)!.result, undefined, 'a new run of the binding waits for approvers');
    assert.equal(temporal.runs.get(id)!.request.singleUse, true);
  });

  it('asks again for other arguments, and a denied call in a batch refuses the whole batch', async () => {
    const seen = up.seen.length;
    const other = await post(h, token, call(9, 'delete_record', { id: 'r-2' }));
    assert.match(other.body, new RegExp(`approval ${expectedId({ id: 'r-2' })} from dba is still pending`));
    const batch = await post(h, token, [call(10, 'delete_record', { id: 'r-1', force: true }), call(11, 'run_shell', { cmd: 'id' })]);
    const answers = JSON.parse(batch.body) as { id: number; error: { message: string } }[];
    assert.deepEqual(answers.map((a) => a.id), [10, 11]);
    assert.match(answers[0]!.error.message, /another request in the same batch was denied/);
    assert.match(answers[1]!.error.message, /denied by policy: no shells/);
    assert.equal(up.seen.length, seen, 'nothing forwarded');
  });
});

describe('batchDecisions: no call recorded as allowed and then not forwarded', () => {
  const d = (result: PolicyDecision['result'], reasons: string[] = []): PolicyDecision => ({ result, reasons, revision: 'r', evalMicros: 1, output: {}, ...(result === 'approval' ? { approval: { approverGroups: ['dba'], quorum: 1, ttlMs: 1000 } } : {}) });
  it('records the allowed siblings of a denied message as denied, of a held one as held with it', () => {
    assert.deepEqual(batchDecisions([d('allow'), d('deny', ['x'])]).map((x) => [x.result, x.reasons]), [['deny', ['not forwarded: another request in the same batch was denied (policy: mcp-batch)']], ['deny', ['x']]]);
    const held = batchDecisions([d('allow'), d('approval', ['y'])]);
    assert.deepEqual(held.map((x) => [x.result, x.reasons]), [['approval', ['held with the requests of its batch that need approval (policy: mcp-batch)']], ['approval', ['y']]]);
    assert.deepEqual(held[0]!.approval, { approverGroups: ['dba'], quorum: 1, ttlMs: 1000 });
    assert.deepEqual(batchDecisions([d('allow'), d('allow')]).map((x) => x.result), ['allow', 'allow']);
  });
});
