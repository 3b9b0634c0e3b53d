/**
 * kubectl through the load-balanced TLS endpoint to a Kubernetes API. No real apiserver can run
 * on our machines (no container runtime, no etcd): the upstream is deploy/local's STAND-IN
 * (deploy/local/k8s-standin/server.mjs), which serves discovery, OpenAPI v3 stubs and the objects
 * this test uses, and `pods/exec` over WebSocket and over SPDY/3.1 (running nothing). The gateway
 * injects a service-account token; the agent's kubeconfig holds only its Chaperone token.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsOf, frameCommands, issueToken, replayOf, sql, uniqueSubject, writeKubeconfig } from './lib/http.js';
import { eventually, loadStack, run, type Stack } from './lib/stack.js';

describe('HTTP gateway: kubectl against the Kubernetes API stand-in', () => {
  let stack: Stack;
  const subject = uniqueSubject('k8s');
  const dir = mkdtempSync(join(tmpdir(), 'e2e-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const name = `e2e-${randomBytes(3).toString('hex')}`;
  const kubectl = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir } });
  const kubectlWs = (input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir }, input });
  /** A format-valid GitHub token, new each run: exec output that holds it must be masked. */
  const secret = `ghp_${Array.from(randomBytes(36), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join('')}`;
  /** The exec session of the one k8s.exec command whose text holds `marker`, replayed. */
  const execReplay = async (marker: string): Promise<{ sessionId: string; text: string }> => {
    const [c] = await commandsOf(stack, subject, 1, `action = 'k8s.exec' AND position(text, '${marker}') > 0`);
    return { sessionId: c!.session_id, text: await replayOf(stack, c!.session_id) };
  };
  /** Output frames of a session that hold `value` (the request line holds what the agent asked to run, as sent). */
  const leaks = async (sessionId: string, value: string): Promise<number> =>
    Number((await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events WHERE session_id = '${sessionId}' AND direction = 'SERVER_TO_CLIENT' AND position(payload, '${value}') > 0`))[0]!.n);
  /** kubectl >= 1.30 speaks WebSocket; this turns it off, so it falls back to SPDY/3.1 like older clients. */
  const kubectlSpdy = (input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }, input });

  before(async () => {
    stack = loadStack();
    const token = await issueToken(stack, subject);
    writeKubeconfig(kubeconfig, stack, token, 'demo');
  });

  it('gets, applies and deletes objects', async () => {
    const version = await kubectl('version', '-o', 'json');
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /chaperone-standin/);
    assert.match((await kubectl('get', 'namespaces')).stdout, /demo/);
    const manifest = join(dir, 'cm.yaml');
    writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {color: blue}\n`);
    const created = await kubectl('apply', '-f', manifest);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`configmap/${name} created`));
    writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {color: green}\n`);
    assert.match((await kubectl('apply', '-f', manifest)).stdout, /configured/);
    assert.equal((await kubectl('get', 'configmap', name, '-o', 'jsonpath={.data.color}')).stdout, 'green');
    const deleted = await kubectl('delete', 'configmap', name);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match((await kubectl('get', 'configmap', name)).stderr, /NotFound|not found/);
  });

  it('runs kubectl exec through a recorded WebSocket tunnel', async () => {
    const pod = join(dir, 'pod.yaml');
    writeFileSync(pod, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}-pod}\nspec: {containers: [{name: main, image: busybox}]}\n`);
    assert.equal((await kubectl('apply', '-f', pod)).code, 0);
    const r = await kubectl('exec', `${name}-pod`, '--', 'echo', `hello-${name}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `hello-${name}`);
    assert.equal((await kubectl('delete', 'pod', `${name}-pod`)).code, 0);
  });

  it('exec over WebSocket: output masked on stdout before it reaches the agent or the recording; replay shows typed input and output by channel', async () => {
    const pod = join(dir, 'ws-pod.yaml');
    writeFileSync(pod, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}-ws}\nspec: {containers: [{name: main, image: busybox}]}\n`);
    assert.equal((await kubectl('apply', '-f', pod)).code, 0);
    const echo = await kubectl('exec', `${name}-ws`, '--', 'echo', `token=${secret}`);
    assert.equal(echo.code, 0, echo.stderr);
    assert.match(echo.stdout, /^token=\[MASKED:[\w-]+\]\n$/);
    const cat = await kubectlWs(`typed-${name}\nsecond line\n`, 'exec', '-i', `${name}-ws`, '--', 'cat');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, `typed-${name}\nsecond line\n`);
    assert.equal((await kubectl('delete', 'pod', `${name}-ws`)).code, 0);

    const masked = await execReplay(`${name}-ws/exec?command=echo`);
    assert.match(masked.text, /stdout │ token=\[MASKED:[\w-]+\]/);
    assert.match(masked.text, /error {2}│ \{"metadata":\{\},"status":"Success"\}/);
    assert.match(masked.text, /\(masked: 1× [\w-]+ in /);
    assert.equal(await leaks(masked.sessionId, secret), 0, 'the secret is not in the recorded output');
    const typed = await execReplay(`${name}-ws/exec?command=cat`);
    assert.match(typed.text, new RegExp(`stdin {2}│ typed-${name}\\n {2}stdin {2}│ second line`));
    assert.match(typed.text, new RegExp(`stdout │ typed-${name}\\n {2}stdout │ second line`));
    // Client frames are stored without the WebSocket XOR key: SQL reads what was typed.
    const stdin = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events FINAL WHERE session_id = '${typed.sessionId}' AND message_type = 'ws.frame.binary;channel=stdin' AND direction = 'CLIENT_TO_SERVER' AND position(payload, 'typed-${name}') > 0`);
    assert.equal(Number(stdin[0]!.n), 1);
  });

  it('runs kubectl exec over SPDY/3.1, recorded frame by frame with each stream\'s channel', async () => {
    const pod = join(dir, 'spdy-pod.yaml');
    writeFileSync(pod, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}-spdy}\nspec: {containers: [{name: main, image: busybox}]}\n`);
    assert.equal((await kubectl('apply', '-f', pod)).code, 0);
    const echo = await kubectlSpdy('', 'exec', `${name}-spdy`, '--', 'echo', `spdy-${name}`);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, `spdy-${name}\n`);
    const cat = await kubectlSpdy(`stdin-${name}\n`, 'exec', '-i', `${name}-spdy`, '--', 'cat');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, `stdin-${name}\n`);
    assert.equal((await kubectl('delete', 'pod', `${name}-spdy`)).code, 0);

    const execs = await commandsOf(stack, subject, 2, `action = 'k8s.exec' AND position(text, '${name}-spdy') > 0`);
    assert.deepEqual((JSON.parse(execs[0]!.details) as { command: string[] }).command, ['echo', `spdy-${name}`]);
    // Payloads are binary SPDY frames: look for the text in ClickHouse rather than in JSON output.
    const frames = async (sessionId: string, text: string): Promise<{ direction: string; message_type: string; has: number | string }[]> =>
      eventually('the SPDY frames in ClickHouse', async () => {
        const rows = await sql<{ direction: string; message_type: string; has: number | string }>(stack, `SELECT direction, message_type, position(payload, '${text}') > 0 AS has FROM events FINAL WHERE session_id = '${sessionId}' AND startsWith(message_type, 'spdy.frame.') ORDER BY seq`);
        return rows.some((r) => r.message_type.endsWith('channel=error') && r.message_type.startsWith('spdy.frame.data')) ? rows : undefined;
      }, 60_000);
    const first = await frames(execs[0]!.session_id, `spdy-${name}`);
    const types = first.map((r) => r.message_type);
    for (const ch of ['error', 'stdout', 'stderr']) assert.ok(types.some((t) => new RegExp(`^spdy\\.frame\\.syn_stream;stream=\\d+;channel=${ch}$`).test(t)), `a ${ch} stream in ${types.join(', ')}`);
    const out = first.find((r) => r.direction === 'SERVER_TO_CLIENT' && /^spdy\.frame\.data;stream=\d+;channel=stdout$/.test(r.message_type) && Number(r.has) === 1);
    assert.ok(out, 'the output is recorded on the stdout channel');
    const second = await frames(execs[1]!.session_id, `stdin-${name}`);
    assert.ok(second.some((r) => r.direction === 'CLIENT_TO_SERVER' && r.message_type.endsWith('channel=stdin') && Number(r.has) === 1), 'what the agent typed is recorded on the stdin channel');
    // Every frame of the exec's tunnel is the exec's (frame_commands): the head and SYN_STREAMs and
    // stdin one way, the 101, SYN_REPLYs, output and status the other.
    const exec = execs[1]!;
    await frameCommands(stack, [exec.session_id], (m) => (m.get(`${exec.command_id} CLIENT_TO_SERVER`) ?? 0) >= 4 && (m.get(`${exec.command_id} SERVER_TO_CLIENT`) ?? 0) >= 4);
    const replayed = await replayOf(stack, execs[1]!.session_id);
    assert.match(replayed, new RegExp(`stdin {2}│ stdin-${name}\\n(.*\\n)* {2}stdout │ stdin-${name}`));
    assert.match(replayed, /verb create {2}resource v1\/pods\/exec {2}namespace demo/);
  });

  it('masks a secret in exec output over SPDY/3.1 before it reaches the agent or the recording', async () => {
    const pod = join(dir, 'spdy-secret-pod.yaml');
    writeFileSync(pod, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}-sps}\nspec: {containers: [{name: main, image: busybox}]}\n`);
    assert.equal((await kubectl('apply', '-f', pod)).code, 0);
    const cat = await kubectlSpdy(`key ${secret}\n`, 'exec', '-i', `${name}-sps`, '--', 'cat');
    assert.equal(cat.code, 0, cat.stderr);
    assert.match(cat.stdout, /^key \[MASKED:[\w-]+\]\n$/);
    assert.equal((await kubectl('delete', 'pod', `${name}-sps`)).code, 0);
    const r = await execReplay(`${name}-sps/exec`);
    assert.match(r.text, /stdout │ key \[MASKED:[\w-]+\]/);
    // What the agent typed is its own input, recorded as typed; what came back is masked.
    assert.equal(await leaks(r.sessionId, secret), 0, 'the secret is not in the recorded output');
  });

  it('records verb, group/version/resource, namespace, name and subresource', async () => {
    const rows = await commandsOf(stack, subject, 4, "action IN ('k8s.create', 'k8s.patch', 'k8s.delete', 'k8s.exec')");
    const byAction = (a: string): Record<string, unknown> => JSON.parse(rows.find((r) => r.action === a)!.details) as Record<string, unknown>;
    const pick = (d: Record<string, unknown>): unknown[] => [d.verb, d.group, d.version, d.resource, d.subresource, d.namespace, d.name];
    assert.deepEqual(pick(byAction('k8s.create')), ['create', '', 'v1', 'configmaps', '', 'demo', name]);
    assert.deepEqual(pick(byAction('k8s.patch')), ['patch', '', 'v1', 'configmaps', '', 'demo', name]);
    assert.deepEqual(pick(byAction('k8s.delete')), ['delete', '', 'v1', 'configmaps', '', 'demo', name]);
    const exec = byAction('k8s.exec');
    assert.deepEqual(pick(exec), ['get', '', 'v1', 'pods', 'exec', 'demo', `${name}-pod`]);
    assert.deepEqual(exec.command, ['echo', `hello-${name}`]);
    assert.ok(rows.every((r) => r.decision === 'ALLOW'));
    const del = rows.find((r) => r.action === 'k8s.delete')!;
    assert.deepEqual(del.targets, [`demo/configmaps/${name}`]);
    const frames = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events FINAL WHERE session_id = '${rows.find((r) => r.action === 'k8s.exec')!.session_id}' AND startsWith(message_type, 'ws.frame')`);
    assert.ok(Number(frames[0]!.n) >= 2, 'the exec stream is recorded frame by frame');
    assert.match(await replayOf(stack, del.session_id), new RegExp(`DELETE /k8s/api/v1/namespaces/demo/configmaps/${name}`));
    const sa = readFileSync(`${stack.CHAPERONE_RUN_DIR}/secrets/k8s-sa.token`, 'utf8').trim();
    const leaked = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events WHERE position(payload, '${sa}') > 0`);
    assert.equal(Number(leaked[0]!.n), 0, 'the service-account token is never recorded');
  });
});
