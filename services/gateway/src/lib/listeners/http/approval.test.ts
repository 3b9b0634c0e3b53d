import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Config } from '@chaperone/config';
import type { EventBody } from '@chaperone/events';
import { createLogger } from '@chaperone/observability';
import { TemporalApprovalGate, type ApprovalWorkflows, type LatestRun, type UseClaim } from '../../approvals/index.js';
import { approvalBinding, approvalWorkflowId, type ApprovalRequest, type ApprovalResult } from '@chaperone/approvals-contract';
import { approvalCommandText, upgradeCommandText } from './approval.js';
import { startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

/** Temporal as the gate sees it, scripted: runs by workflow id, decided by the test. */
class ScriptedTemporal implements ApprovalWorkflows {
  readonly runs = new Map<string, { request: ApprovalRequest; result?: ApprovalResult; waiters: ((r: ApprovalResult) => void)[] }>();
  readonly started: ApprovalRequest[] = [];
  abandoned = 0;

  latest(id: string): Promise<LatestRun> {
    const r = this.runs.get(id);
    if (!r) return Promise.resolve({ state: 'NONE' });
    return Promise.resolve(r.result ? { state: 'CLOSED', runId: 'run', result: r.result } : { state: 'RUNNING', runId: 'run' });
  }
  consume(): Promise<UseClaim> {
    // Only MCP approvals are single use; none of the kinds tested here asks.
    return Promise.reject(new Error('a REST, git, OCI or Kubernetes approval was consumed'));
  }
  start(id: string, request: ApprovalRequest): Promise<{ runId: string }> {
    const r = this.runs.get(id);
    if (!r || r.result) this.runs.set(id, { request, waiters: [] });
    this.started.push(request);
    return Promise.resolve({ runId: 'run' });
  }
  result(id: string, _run: string, signal: AbortSignal): Promise<ApprovalResult> {
    const r = this.runs.get(id)!;
    if (r.result) return Promise.resolve(r.result);
    return new Promise((resolve, reject) => {
      r.waiters.push(resolve);
      signal.addEventListener('abort', () => {
        this.abandoned++;
        reject(new Error('aborted'));
      });
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  decide(id: string, result: ApprovalResult): void {
    const r = this.runs.get(id)!;
    r.result = result;
    for (const w of r.waiters.splice(0)) w(result);
  }
  approve(id: string): void {
    this.decide(id, { outcome: 'APPROVED', answers: [{ approver: 'user:alice', via: 'cli', at: '' }], validUntil: new Date(Date.now() + 600_000).toISOString() });
  }
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: string, method: string, headers: Record<string, string>, body?: Buffer, onRequest?: (abort: () => void) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) }, agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    r.on('error', reject);
    onRequest?.(() => r.destroy());
    r.end(body);
  });
}

async function until(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const approvalsConfig: Config['approvals'] = { timeoutMs: 60_000, httpHoldMs: 400, escalation: undefined, approvers: [], slack: undefined };
// Long enough that a request answered at once stays well under it on a loaded 2-core machine
// (the `< HOLD` checks), short enough that the two held cases stay quick.
const HOLD = 1500;

describe('HTTP requests held for approval', () => {
  let up: Upstream;
  let h: Harness;
  let t: ScriptedTemporal;
  let token: string;
  const upgrades: string[] = [];
  const subject = 'agent:held';
  const idFor = (text: string) => approvalWorkflowId(approvalBinding(subject, 'api', text));

  before(async () => {
    up = await startUpstream((r, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ method: r.method, url: r.url, length: r.body.length }));
    });
    t = new ScriptedTemporal();
    const gate = new TemporalApprovalGate(t, approvalsConfig, createLogger({ name: 'gate', level: 'silent' }));
    h = await startHarness(
      [{ name: 'api', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, pathPrefix: '/api' } }],
      (input) =>
        input.command.action === 'DELETE' || input.command.action === 'POST' || input.command.text.includes(' /api/shell')
          ? { result: 'approval', reasons: ['writes need approval (policy: test)'], approval: { approverGroups: ['dba'], quorum: 1, ttlMs: 600_000 } }
          : { result: 'allow', reasons: [] },
      {},
      { approvals: gate, raw: { approvals: { httpHold: `${HOLD}ms` } } },
    );
    up.server.on('upgrade', (req, socket) => {
      upgrades.push(`${req.method} ${req.url}`);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
    });
    token = await h.token(subject);
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  const auth = () => ({ Authorization: `Bearer ${token}` });
  const events = <T extends EventBody['type']>(type: T) => h.sink.bodies().filter((e): e is Extract<EventBody, { type: T }> => e.type === type);
  /** The events of the session that sent the command with this text. */
  const sessionOf = (text: string): EventBody[] => {
    const cmd = h.sink.published.find((e) => e.event.body.type === 'Command' && e.event.body.text === text)!;
    return h.sink.published.filter((e) => e.event.sessionId === cmd.event.sessionId).map((e) => e.event.body);
  };

  it('binds the approval to the request line, the query and the body digest', () => {
    const cmd = { protocol: 'http' as const, action: 'POST', targets: ['/api/x'], text: 'POST /api/x?a=1', details: {} };
    assert.equal(approvalCommandText(cmd, { chunks: [], bytes: 0, ended: true }, undefined), 'POST /api/x?a=1\nbody: none');
    assert.equal(
      approvalCommandText(cmd, { chunks: [Buffer.from('{"a"'), Buffer.from(':1}')], bytes: 7, ended: true }, '7'),
      `POST /api/x?a=1\nbody: sha256:${createHash('sha256').update('{"a":1}').digest('hex')} (7 bytes)`,
    );
    assert.match(approvalCommandText(cmd, { chunks: [Buffer.from('abc')], bytes: 3, ended: false }, '900000'), /^POST \/api\/x\?a=1\nbody: first 3 bytes sha256:[0-9a-f]{64} of 900000 bytes$/);
    assert.match(approvalCommandText(cmd, { chunks: [Buffer.from('abc')], bytes: 3, ended: false }, undefined), /of a chunked body$/);
  });

  it('forwards a request approved while it is held, after ApprovalRequested/Resolved are recorded', async () => {
    const seen = up.seen.length;
    const reply = send(`${h.base}/api/orders/1`, 'DELETE', auth());
    await until('the approval to start', () => t.started.length === 1);
    const req = t.started[0]!;
    assert.equal(req.commandText, 'DELETE /api/orders/1\nbody: none');
    assert.equal(req.approvalId, idFor('DELETE /api/orders/1\nbody: none'));
    assert.deepEqual(req.approverGroups, ['dba']);
    assert.equal(up.seen.length, seen, 'nothing reaches the upstream while held');
    t.approve(req.approvalId);
    const r = await reply;
    assert.equal(r.status, 200);
    assert.equal(up.seen.length, seen + 1);
    const types = sessionOf('DELETE /api/orders/1').map((e) => (e.type === 'Frame' ? e.messageType : e.type));
    assert.deepEqual(types.slice(types.indexOf('Command'), types.indexOf('http.response.head')), ['Command', 'Decision', 'ApprovalRequested', 'ApprovalResolved']);
    const resolved = sessionOf('DELETE /api/orders/1').find((e) => e.type === 'ApprovalResolved')!;
    assert.deepEqual([resolved.outcome, resolved.approvers], ['APPROVED', ['user:alice (cli)']]);
  });

  it('answers 403 with the approval id and Retry-After when the hold ends; the retry after approval goes through without asking again', async () => {
    const body = Buffer.from(JSON.stringify({ sku: 'x', qty: 2 }));
    const json = { ...auth(), 'Content-Type': 'application/json' };
    const seen = up.seen.length;
    const started = Date.now();
    const r = await send(`${h.base}/api/orders?dry=0`, 'POST', json, body);
    assert.ok(Date.now() - started >= HOLD - 20, 'held for approvals.httpHold');
    assert.equal(r.status, 403);
    assert.equal(r.headers['retry-after'], '5');
    assert.match(String(r.headers['content-type']), /application\/json/);
    const doc = JSON.parse(r.body) as { error: string; message: string; approval: { id: string; status: string; approverGroups: string[]; retryAfterSeconds: number } };
    const text = `POST /api/orders?dry=0\nbody: sha256:${createHash('sha256').update(body).digest('hex')} (${body.length} bytes)`;
    assert.equal(doc.approval.id, idFor(text));
    assert.deepEqual([doc.error, doc.approval.status, doc.approval.approverGroups, doc.approval.retryAfterSeconds], ['approval_pending', 'pending', ['dba'], 5]);
    assert.match(doc.message, new RegExp(`still pending after ${Math.round(HOLD / 1000)} s`));
    assert.equal(up.seen.length, seen);

    // While still pending the retry joins the same approval (no second one) and waits again.
    const starts = t.started.length;
    const retry = send(`${h.base}/api/orders?dry=0`, 'POST', json, body);
    await new Promise((res) => setTimeout(res, 100));
    t.approve(doc.approval.id);
    assert.equal((await retry).status, 200);
    assert.equal(t.started.length, starts, 'joined, not started again');
    // Approved earlier: reused at once.
    const t0 = Date.now();
    const again = await send(`${h.base}/api/orders?dry=0`, 'POST', json, body);
    assert.equal(again.status, 200);
    assert.ok(Date.now() - t0 < HOLD);
    assert.equal(up.seen.length, seen + 2);
    assert.ok(events('ApprovalResolved').some((e) => e.outcome === 'REUSED' && e.approvalId === doc.approval.id));

    // The same request with another body is another command: it asks again.
    const other = await send(`${h.base}/api/orders?dry=0`, 'POST', json, Buffer.from('{"sku":"y"}'));
    assert.equal(other.status, 403);
    assert.notEqual((JSON.parse(other.body) as { approval: { id: string } }).approval.id, doc.approval.id);
  });

  it('answers a denial with 403 and the approver’s reason', async () => {
    const reply = send(`${h.base}/api/orders/2`, 'DELETE', auth());
    const id = idFor('DELETE /api/orders/2\nbody: none');
    await until('the approval to start', () => t.runs.has(id));
    t.decide(id, { outcome: 'DENIED', approver: 'user:bob', reason: 'not on a Friday' });
    const r = await reply;
    assert.equal(r.status, 403);
    assert.equal(r.headers['retry-after'], undefined);
    const doc = JSON.parse(r.body) as { message: string; approval: { status: string; reason: string } };
    assert.equal(doc.approval.status, 'denied');
    assert.match(doc.message, /was denied by user:bob \(api\): not on a Friday; the request was not forwarded/);
  });

  it('does not hold a body too large to keep in memory: the approval is requested and the retry streams through once approved', async () => {
    const big = Buffer.alloc(300 * 1024, 0x61);
    const seen = up.seen.length;
    const t0 = Date.now();
    const r = await send(`${h.base}/api/upload`, 'POST', auth(), big);
    assert.ok(Date.now() - t0 < HOLD, 'answered without waiting');
    assert.equal(r.status, 403);
    assert.equal(r.headers['retry-after'], '30');
    const doc = JSON.parse(r.body) as { message: string; approval: { id: string; status: string } };
    assert.equal(doc.approval.status, 'pending');
    assert.match(doc.message, /too large to be held/);
    const req = t.started.at(-1)!;
    assert.equal(req.approvalId, doc.approval.id);
    assert.match(req.commandText, /^POST \/api\/upload\nbody: first \d+ bytes sha256:[0-9a-f]{64} of 307200 bytes$/);
    assert.equal(up.seen.length, seen);
    t.approve(doc.approval.id);
    const ok = await send(`${h.base}/api/upload`, 'POST', auth(), big);
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { length: number }).length, big.length);
  });

  it('stops waiting when the agent goes away; the approval stays requested', async () => {
    const before = t.abandoned;
    const seen = up.seen.length;
    let abort = (): void => undefined;
    const reply = send(`${h.base}/api/orders/3`, 'DELETE', auth(), undefined, (a) => (abort = a)).catch((e: Error) => e);
    const id = idFor('DELETE /api/orders/3\nbody: none');
    await until('the approval to start', () => t.runs.has(id));
    await new Promise((r) => setTimeout(r, 50));
    abort();
    assert.ok((await reply) instanceof Error);
    await until('the wait to end', () => t.abandoned > before);
    t.approve(id);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(up.seen.length, seen, 'an abandoned request is never forwarded');
    const recorded = sessionOf('DELETE /api/orders/3').map((e) => e.type);
    assert.ok(recorded.includes('ApprovalRequested'));
    assert.ok(!recorded.includes('ApprovalResolved'));
  });
  /** Sends an upgrade request on a raw connection; `text()` is all the gateway sent back so far. */
  const openUpgrade = (method: string, path: string): { sock: Socket; text(): string; closed: Promise<void> } => {
    const sock = connect(h.port, '127.0.0.1');
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    sock.on('error', () => {});
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`);
    return { sock, text: () => got, closed };
  };
  const bodyOf = (reply: string): string => reply.slice(reply.indexOf('\r\n\r\n') + 4);

  it('binds an upgrade’s approval to its target without the method', () => {
    const cmd = { protocol: 'k8s' as const, action: 'k8s.exec', targets: [], text: 'GET /k8s/api/v1/namespaces/a-prod/pods/web/exec?command=echo&stdout=true', details: {} };
    assert.equal(upgradeCommandText(cmd), 'UPGRADE /k8s/api/v1/namespaces/a-prod/pods/web/exec?command=echo&stdout=true\nbody: none');
    assert.equal(upgradeCommandText({ ...cmd, text: cmd.text.replace(/^GET/, 'POST') }), upgradeCommandText(cmd));
  });

  it('holds an upgrade: approved while held, the tunnel opens; the same upgrade with another method reuses the approval', async () => {
    const before = upgrades.length;
    const c = openUpgrade('GET', '/api/shell?cmd=ls');
    const text = 'UPGRADE /api/shell?cmd=ls\nbody: none';
    const id = idFor(text);
    await until('the approval to start', () => t.runs.has(id));
    assert.equal(t.started.at(-1)!.commandText, text);
    // Sent before the 101 (a client should not): kept for the tunnel, not lost.
    c.sock.write('early');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(upgrades.length, before, 'nothing reaches the upstream while held');
    assert.equal(c.text(), '');
    t.approve(id);
    await until('the 101 and the echo', () => c.text().includes('echo:early'));
    assert.match(c.text(), /^HTTP\/1\.1 101 /);
    c.sock.write('more');
    await until('the tunnel to relay', () => c.text().includes('echo:more'));
    c.sock.destroy();
    assert.deepEqual(upgrades.slice(before), ['GET /shell?cmd=ls']);
    const types = sessionOf('GET /api/shell?cmd=ls').map((e) => (e.type === 'Frame' ? e.messageType : e.type));
    assert.deepEqual(types.slice(types.indexOf('Command'), types.indexOf('http.response.head')), ['Command', 'Decision', 'ApprovalRequested', 'ApprovalResolved']);

    // kubectl's SPDY fallback: POST, same target — the same command, approved already.
    const starts = t.started.length;
    const p = openUpgrade('POST', '/api/shell?cmd=ls');
    await until('the reused approval to open the tunnel', () => /^HTTP\/1\.1 101 /.test(p.text()));
    p.sock.destroy();
    assert.equal(t.started.length, starts, 'no new approval');
    assert.ok(events('ApprovalResolved').some((e) => e.outcome === 'REUSED' && e.approvalId === id));
  });

  it('answers a still-pending upgrade with 403, the approval id and Retry-After; a denied one with the reason', async () => {
    const before = upgrades.length;
    const started = Date.now();
    const c = openUpgrade('GET', '/api/shell?cmd=rm');
    await c.closed;
    assert.ok(Date.now() - started >= HOLD - 20, 'held for approvals.httpHold');
    const reply = c.text();
    assert.match(reply, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(reply, /\r\nRetry-After: 5\r\n/);
    const doc = JSON.parse(bodyOf(reply)) as { error: string; message: string; approval: { id: string; status: string } };
    const id = idFor('UPGRADE /api/shell?cmd=rm\nbody: none');
    assert.deepEqual([doc.error, doc.approval.id, doc.approval.status], ['approval_pending', id, 'pending']);
    assert.match(doc.message, /still pending after/);

    const d = openUpgrade('GET', '/api/shell?cmd=rm');
    await new Promise((r) => setTimeout(r, 50));
    t.decide(id, { outcome: 'DENIED', approver: 'user:bob', reason: 'no shells in prod' });
    await d.closed;
    assert.match(d.text(), /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.doesNotMatch(d.text(), /Retry-After/i);
    assert.match((JSON.parse(bodyOf(d.text())) as { message: string }).message, /was denied by user:bob \(api\): no shells in prod; the request was not forwarded/);
    assert.equal(upgrades.length, before, 'never forwarded');
  });

  it('stops holding an upgrade whose client goes away', async () => {
    const before = t.abandoned;
    const c = openUpgrade('GET', '/api/shell?cmd=top');
    await until('the approval to start', () => t.runs.has(idFor('UPGRADE /api/shell?cmd=top\nbody: none')));
    c.sock.end();
    await until('the wait to end', () => t.abandoned > before);
  });
});
