/**
 * Just-in-time approval of HTTP requests end to end (issue #6, HTTP side), with real parts:
 * curl and kubectl → haproxy → gateway node → the approval workflow on the Temporal dev server
 * (the stack's approvals worker) → answered with `chaperone approvals approve|deny` or a click
 * signed exactly as Slack signs it, sent to the worker's interactivity endpoint → the held
 * request reaches the Kubernetes API stand-in (its access log), or not.
 *
 * The default policy pack sends a Kubernetes `delete`, and an `exec` into a pod, in a production
 * namespace (`*-prod`) to approval (k8s-prod-change); the namespace is this run's own.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buttonClick, sendInteraction } from '@chaperone/approvals/testing';
import { loadConfig, type Config } from '@chaperone/config';
import { commandsOf, httpBase, issueToken, logSince, logSize, replayOf, uniqueSubject, writeKubeconfig } from './lib/http.js';
import { chaperone, eventually, loadStack, run, type RunResult, type Stack } from './lib/stack.js';

const ALICE_SLACK = 'U0LOCALALICE';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One curl response printed with -i: status line, headers, body (HTTP/1.1 or HTTP/2). */
function parseReply(r: RunResult): Reply {
  assert.equal(r.code, 0, r.stderr);
  const sep = r.stdout.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = r.stdout.slice(0, sep).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine!)![1]), headers, body: r.stdout.slice(sep + 4) };
}

interface Pending {
  approvalId: string;
  subject: string;
  connection: string;
  command: string;
}

describe('HTTP requests held for approval (Kubernetes delete in a production namespace)', () => {
  let stack: Stack;
  let config: Config;
  let token: string;
  let endpoint: string;
  let signingSecret: string;
  const subject = uniqueSubject('http-appr');
  const ns = `e2e-${randomBytes(3).toString('hex')}-prod`;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-http-appr-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const kubectl = (...args: string[]): Promise<RunResult> => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir } });
  const curl = async (method: string, path: string): Promise<Reply> =>
    parseReply(await run('curl', ['-sS', '-i', '--cacert', stack.TLS_CA_FILE!, '-H', `Authorization: Bearer ${token}`, '-X', method, `${httpBase(stack)}${path}`], { timeout: 120_000 }));
  const cmPath = (name: string) => `/k8s/api/v1/namespaces/${ns}/configmaps/${name}`;
  /** The approval id the gateway derives: the binding of subject, connection and the exact command text (approval.ts). */
  const approvalIdFor = (text: string) => `approval-${createHash('sha256').update(JSON.stringify(['chaperone-approval-v1', subject, 'cluster', text])).digest('hex')}`;
  const pendingFor = (needle: string): Promise<Pending> =>
    eventually(`a pending approval for ${needle}`, async () => {
      const ls = await chaperone(stack, ['approvals', 'ls', '--json']);
      if (ls.code !== 0) throw new Error(ls.stderr);
      return (JSON.parse(ls.stdout) as Pending[]).find((p) => p.subject === subject && p.command.includes(needle));
    });
  const deletesSince = (from: number, name: string) =>
    logSince(stack.K8S_API_ACCESS_LOG!, from)
      .split('\n')
      .filter((l) => l.includes(`"DELETE /api/v1/namespaces/${ns}/configmaps/${name}`));

  before(async () => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
    const s = config.approvals.slack;
    assert.ok(s, 'the stack configuration has no approvals.slack block: rerun deploy/local/up');
    signingSecret = s.signingSecret;
    endpoint = `http://${s.interactivity.host}:${s.interactivity.port}`;
    token = await issueToken(stack, subject);
    writeKubeconfig(kubeconfig, stack, token, ns);
    // Creating needs no approval; deleting in a production namespace does. (apply: the stand-in
    // speaks JSON, not the protobuf that imperative `kubectl create` sends.)
    const manifest = join(dir, 'objects.yaml');
    const objects = [
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`,
      ...['a', 'b', 'c'].map((n) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${n}, namespace: ${ns}}\ndata: {k: ${n}}`),
      `apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ${ns}}\nspec: {containers: [{name: web, image: nginx}]}`,
    ];
    writeFileSync(manifest, `${objects.join('\n---\n')}\n`);
    const created = await kubectl('apply', '-f', manifest);
    assert.equal(created.code, 0, created.stderr);
  });

  it('holds the delete, then answers 403 with the approval id and Retry-After; approved, the retry goes through', { timeout: 180_000 }, async () => {
    const from = logSize(stack.K8S_API_ACCESS_LOG!);
    const t0 = Date.now();
    const held = await curl('DELETE', cmPath('a'));
    const waited = Date.now() - t0;
    assert.equal(held.status, 403, held.body);
    assert.ok(waited >= config.approvals.httpHoldMs - 1000, `held ${waited} ms, approvals.httpHold is ${config.approvals.httpHoldMs} ms`);
    assert.equal(held.headers['retry-after'], '5');
    const status = JSON.parse(held.body) as { kind: string; code: number; reason: string; message: string; details: { name: string; kind: string; retryAfterSeconds: number } };
    const id = approvalIdFor(`DELETE ${cmPath('a')}\nbody: none`);
    assert.deepEqual([status.kind, status.code, status.reason, status.details.name, status.details.retryAfterSeconds], ['Status', 403, 'Forbidden', id, 5]);
    assert.match(status.message, new RegExp(`needs approval \\(delete of configmaps/a in production namespace ${ns} needs approval \\(policy: k8s-prod-change\\)\\); approval ${id} from dba or sre-oncall is still pending`));
    assert.deepEqual(deletesSince(from, 'a'), [], 'nothing reaches the upstream before the approval');

    // The approval waits in Temporal; a signed Slack click from an approver decides it (fast:
    // approvals.timeout is short on the local stack).
    assert.equal((await sendInteraction(endpoint, signingSecret, buttonClick({ slackUserId: ALICE_SLACK, approvalId: id, action: 'approve' }))).status, 200);
    const retried = await eventually('the approved retry', async () => {
      const r = await curl('DELETE', cmPath('a'));
      return r.status === 403 && /still pending/.test(r.body) ? undefined : r;
    });
    assert.equal(retried.status, 200, retried.body);
    assert.equal(deletesSince(from, 'a').length, 1, 'the retry reached the upstream once');
    assert.match(deletesSince(from, 'a')[0]!, /" 200$/);
    assert.match((await kubectl('get', 'configmap', 'a')).stderr, /NotFound|not found/);
  });

  it('forwards a kubectl delete approved with the CLI while it is held', async () => {
    const from = logSize(stack.K8S_API_ACCESS_LOG!);
    const held = kubectl('delete', 'configmap', 'b');
    const p = await pendingFor(`configmaps/b`);
    assert.match(p.command, new RegExp(`^DELETE ${cmPath('b')}\\nbody: sha256:[0-9a-f]{64} \\(\\d+ bytes\\)$`), 'kubectl sends DeleteOptions: the body is bound too');
    assert.equal(p.connection, 'cluster');
    assert.deepEqual(deletesSince(from, 'b'), []);
    const ok = await chaperone(stack, ['approvals', 'approve', p.approvalId, '--token', await issueToken(stack, 'user:alice', ['dba']), '--reason', 'e2e']);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap "b" deleted/);
    assert.equal(deletesSince(from, 'b').length, 1);
  });

  it('gives 403 with the reason of a denial; a different request asked again', async () => {
    const from = logSize(stack.K8S_API_ACCESS_LOG!);
    const reply = curl('DELETE', cmPath('c'));
    const p = await pendingFor(`configmaps/c`);
    assert.equal(p.approvalId, approvalIdFor(`DELETE ${cmPath('c')}\nbody: none`));
    assert.notEqual(p.approvalId, approvalIdFor(`DELETE ${cmPath('a')}\nbody: none`), 'another request, another approval');
    const denied = await chaperone(stack, ['approvals', 'deny', p.approvalId, '--token', await issueToken(stack, 'user:alice', ['dba']), '--reason', 'not during the freeze']);
    assert.equal(denied.code, 0, denied.stderr);
    const r = await reply;
    assert.equal(r.status, 403);
    assert.equal(r.headers['retry-after'], undefined);
    const status = JSON.parse(r.body) as { message: string; details: { name: string } };
    assert.equal(status.details.name, p.approvalId);
    assert.match(status.message, new RegExp(`approval ${p.approvalId} was denied by user:alice \\(api\\): not during the freeze; the request was not forwarded`));
    assert.deepEqual(deletesSince(from, 'c'), []);
    assert.equal((await kubectl('get', 'configmap', 'c', '-o', 'jsonpath={.data.k}')).stdout, 'c', 'still there');
  });

  it('holds kubectl exec into a production pod: pending, then approved, the retried exec runs', { timeout: 180_000 }, async () => {
    // SPDY first (one attempt, one hold): kubectl's default WebSocket attempt falls back to SPDY
    // when refused, which would hold it twice, past the local stack's short approvals.timeout.
    const spdy = { ...process.env, HOME: dir, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    const exec = ['--kubeconfig', kubeconfig, 'exec', 'web', '--', 'echo', 'hi'];
    const t0 = Date.now();
    const held = await run('kubectl', exec, { env: spdy, timeout: 120_000 });
    assert.notEqual(held.code, 0, held.stdout);
    assert.ok(Date.now() - t0 >= config.approvals.httpHoldMs - 1000, 'held for approvals.httpHold');
    // kubectl prints the Kubernetes Status the gateway answered.
    assert.match(held.stderr, new RegExp(`Error from server \\(Forbidden\\): chaperone: this request needs approval \\(exec into pods/web in production namespace ${ns} needs approval \\(policy: k8s-prod-change\\)\\); approval approval-[0-9a-f]{64} from dba or sre-oncall is still pending`));
    const id = /approval (approval-[0-9a-f]{64})/.exec(held.stderr)![1]!;
    const p = await pendingFor('/pods/web/exec?');
    assert.equal(p.approvalId, id);
    assert.match(p.command, new RegExp(`^UPGRADE /k8s/api/v1/namespaces/${ns}/pods/web/exec\\?\\S*command=echo&command=hi\\S*\\nbody: none$`), 'bound without the method');

    assert.equal((await sendInteraction(endpoint, signingSecret, buttonClick({ slackUserId: ALICE_SLACK, approvalId: id, action: 'approve' }))).status, 200);
    await eventually('the approval to be decided', async () => {
      const ls = await chaperone(stack, ['approvals', 'ls', '--json']);
      return (JSON.parse(ls.stdout) as Pending[]).some((x) => x.approvalId === id) ? undefined : true;
    });
    // The retry with kubectl's defaults (WebSocket) is the same command: the approval is reused.
    const t1 = Date.now();
    const ok = await kubectl('exec', 'web', '--', 'echo', 'hi');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'hi\n');
    assert.ok(Date.now() - t1 < config.approvals.httpHoldMs, 'not held again');
  });

  it("records ApprovalRequested and ApprovalResolved in the agent's sessions", async () => {
    const byType = await eventually('approval events in ClickHouse', async () => {
      const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      const ids = (JSON.parse(ls.stdout) as { sessionId: string }[]).map((x) => `'${x.sessionId}'`);
      if (ids.length === 0) return undefined;
      const q = await chaperone(stack, ['sql', `SELECT type, count() AS n FROM events WHERE session_id IN (${ids.join(',')}) AND type LIKE 'Approval%' GROUP BY type ORDER BY type`, '--format', 'json']);
      const rows = (JSON.parse(q.stdout) as { rows: { type: string; n: string }[] }).rows;
      const counts = Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
      // a: requested (pending) + requested, reused-or-approved; b: requested + approved; c: requested + denied.
      return (counts.ApprovalRequested ?? 0) >= 4 && (counts.ApprovalResolved ?? 0) >= 3 ? counts : undefined;
    }, 60_000);
    assert.ok(byType.ApprovalRequested! >= 4);
  });

  // curl speaks HTTP/2 here: a status line without a reason phrase (RFC 9113 §8.3.2).
  it('replay shows the outcome of each held request: timed out, approved, denied', async () => {
    const deletes = await commandsOf(stack, subject, 4, `action = 'k8s.delete'`);
    const of = (name: string) => deletes.filter((c) => c.text.startsWith(`DELETE ${cmPath(name)}`));
    const [timedOut, retried] = of('a');
    const timedOutText = await replayOf(stack, timedOut!.session_id);
    assert.match(timedOutText, /→ APPROVAL[\s\S]*⏸ approval approval-[0-9a-f]{64} requested[^\n]*\n {2}approval approval-[0-9a-f]{64}: not answered while the request was held \(timed out\)[^\n]*\n {2}← 403( Forbidden)?\n {2}response body:\n {4}\{[^\n]*still pending/);
    assert.match(await replayOf(stack, retried!.session_id), /approval approval-[0-9a-f]{64}: (APPROVED|REUSED)[^\n]*\n(.*\n)* {2}← 200( OK)?/);
    const approved = await replayOf(stack, of('b')[0]!.session_id);
    assert.match(approved, /approval approval-[0-9a-f]{64}: APPROVED by user:alice[^\n]*\(e2e\)\n(.*\n)* {2}← 200( OK)?/);
    const denied = await replayOf(stack, of('c')[0]!.session_id);
    assert.match(denied, /approval approval-[0-9a-f]{64}: DENIED by user:alice[^\n]*\(not during the freeze\)\n {2}← 403( Forbidden)?\n {2}response body:\n {4}\{[^\n]*was denied by user:alice/);
  });
});
