/**
 * kubectl through the listener to the Kubernetes API stand-in (deploy/local/k8s-standin: no
 * real apiserver can run here; the stand-in serves discovery and the objects used), with the
 * gateway injecting a service-account token read from a file.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command, Frame } from '@chaperone/events';
import { hasKubectl, startHarness, startK8sStandin, type Harness } from './harness.js';


describe('kubectl through the listener (Kubernetes API stand-in)', { skip: !hasKubectl() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-k8s-'));
  let standin: ChildProcess;
  let h: Harness;
  const kubeconfig = join(dir, 'kubeconfig');

  const kubectl = (...args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000, env: { ...process.env, HOME: dir } }, (err, so, se) => resolve({ code: err ? 1 : 0, out: `${so}${se}` })));

  before(async () => {
    const k8s = await startK8sStandin(dir);
    standin = k8s.process;
    h = await startHarness(
      [k8s.connection],
      (input) => {
        const k = input.command.k8s as { verb?: string; namespace?: string } | undefined;
        return k?.verb === 'delete' && k.namespace === 'kube-system' ? { result: 'deny', reasons: ['kube-system is protected (policy: test)'] } : { result: 'allow', reasons: [] };
      },
      {},
      // kubectl sends bearer tokens only over TLS.
      { tls: true },
    );
    const token = await h.token();
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${h.port}/k8s", certificate-authority: "${h.certFile}"}}]\nusers: [{name: agent, user: {token: "${token}"}}]\ncontexts: [{name: c, context: {cluster: c, user: agent, namespace: demo}}]\ncurrent-context: c\n`,
    );
  });
  after(async () => {
    await h.close();
    standin.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const commands = (): Command[] => h.sink.bodies().filter((e): e is Command => e.type === 'Command');
  const details = (c: Command): Record<string, unknown> => JSON.parse(c.detailsJson) as Record<string, unknown>;

  it('applies, reads and deletes a ConfigMap with the parsed verb, resource, namespace and name recorded', async () => {
    const cm = join(dir, 'cm.yaml');
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {mode: blue}\n');
    const created = await kubectl('apply', '-f', cm);
    assert.equal(created.code, 0, created.out);
    assert.match(created.out, /configmap\/app-config created/);
    writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {mode: green}\n');
    const patched = await kubectl('apply', '-f', cm);
    assert.equal(patched.code, 0, patched.out);
    assert.match(patched.out, /configured/);
    const got = await kubectl('get', 'configmap', 'app-config', '-o', 'jsonpath={.data.mode}');
    assert.equal(got.out.trim(), 'green');
    const del = await kubectl('delete', 'configmap', 'app-config');
    assert.equal(del.code, 0, del.out);

    const create = commands().find((c) => c.action === 'k8s.create')!;
    assert.deepEqual(
      { ...details(create), object: undefined },
      { verb: 'create', resourceRequest: true, group: '', version: 'v1', resource: 'configmaps', subresource: '', namespace: 'demo', name: 'app-config', object: undefined },
    );
    assert.deepEqual(create.targets, ['demo/configmaps/app-config']);
    assert.ok(commands().some((c) => c.action === 'k8s.patch'));
    const d = commands().find((c) => c.action === 'k8s.delete')!;
    assert.equal(d.text, 'DELETE /k8s/api/v1/namespaces/demo/configmaps/app-config');
    assert.ok(commands().some((c) => c.action === 'k8s.get' && (details(c).resourceRequest as boolean) === false), 'discovery is recorded as non-resource gets');
  });

  it('refuses a delete in a protected namespace with a Status kubectl prints', async () => {
    const denied = await kubectl('-n', 'kube-system', 'delete', 'configmap', 'whatever');
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, /Error from server \(Forbidden\): chaperone: denied by policy: kube-system is protected/);
  });

  it('records kubectl exec as a WebSocket tunnel, frame by frame', async () => {
    const pod = join(dir, 'pod.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx}]}\n');
    assert.equal((await kubectl('apply', '-f', pod)).code, 0);
    const r = await kubectl('exec', 'web', '--', 'echo', 'hello-from-exec');
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), 'hello-from-exec');
    const exec = commands().find((c) => c.action === 'k8s.exec')!;
    assert.deepEqual(details(exec).command, ['echo', 'hello-from-exec']);
    const frames = h.sink.bodies().filter((e): e is Frame => e.type === 'Frame' && e.messageType.startsWith('ws.frame'));
    assert.ok(frames.some((f) => f.direction === 'SERVER_TO_CLIENT' && f.bytes.includes('hello-from-exec')));
    // Every frame of the tunnel, both ways, is the exec command's (events v3: frame_commands).
    const execFrames = frames.filter((f) => f.commandIds?.[0] === exec.commandId);
    assert.ok(execFrames.some((f) => f.bytes.includes('hello-from-exec')), 'the output frame is the exec\'s');
    assert.deepEqual(frames.filter((f) => !f.commandIds || f.commandIds.length === 0), [], 'no tunnel frame without its command');
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes('sa-token-for-the-upstream'), 'the service-account token is never recorded');
  });
});
