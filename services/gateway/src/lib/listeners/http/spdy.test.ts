/**
 * SPDY/3.1 tunnels (`kubectl exec` without WebSocket) through the listener: real kubectl forced
 * to SPDY against deploy/local's Kubernetes API STAND-IN (no real apiserver runs here; the
 * stand-in serves exec over SPDY/3.1 and runs nothing), and a hand-made SPDY peer for what
 * kubectl never sends.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command, EventBody, Frame } from '@chaperone/events';
import { controlFrame, dataFrame, SpdyWriter } from '../../protocols/spdy/fixtures.js';
import { SPDY_FLAG_FIN } from '../../protocols/spdy/index.js';
import { hasKubectl, settle, startHarness, startK8sStandin, startUpstream, type Harness, type Upstream } from './harness.js';


const spdyFrames = (events: EventBody[]): Frame[] => events.filter((e): e is Frame => e.type === 'Frame' && e.messageType.startsWith('spdy.frame.'));

describe('kubectl exec over SPDY/3.1 through the listener (Kubernetes API stand-in)', { skip: !hasKubectl() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-spdy-'));
  let standin: ChildProcess;
  let h: Harness;
  const kubeconfig = join(dir, 'kubeconfig');
  const kubectl = (args: string[], input?: string): Promise<{ code: number; out: string; err: string }> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000, env: { ...process.env, HOME: dir, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } }, (err, out, e) => resolve({ code: err ? 1 : 0, out, err: e }));
      child.stdin!.end(input ?? '');
    });

  before(async () => {
    const k8s = await startK8sStandin(dir);
    standin = k8s.process;
    h = await startHarness(
      [k8s.connection],
      undefined,
      {},
      { tls: true },
    );
    const token = await h.token('agent:spdy');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${h.port}/k8s", certificate-authority: "${h.certFile}"}}]\nusers: [{name: agent, user: {token: "${token}"}}]\ncontexts: [{name: c, context: {cluster: c, user: agent, namespace: demo}}]\ncurrent-context: c\n`,
    );
    const pod = join(dir, 'pod.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx}]}\n');
    assert.equal((await kubectl(['apply', '-f', pod])).code, 0);
  });
  after(async () => {
    await h.close();
    standin.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('relays the output and records each frame with its stream and channel', async () => {
    const r = await kubectl(['exec', 'web', '--', 'echo', 'hello-over-spdy']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'hello-over-spdy\n');
    const events = await settle(h, (e) => spdyFrames(e).some((f) => f.messageType.startsWith('spdy.frame.data') && f.messageType.endsWith('channel=error')));
    const exec = events.find((e): e is Command => e.type === 'Command' && e.action === 'k8s.exec')!;
    assert.deepEqual((JSON.parse(exec.detailsJson) as { command: string[] }).command, ['echo', 'hello-over-spdy']);
    const frames = spdyFrames(events).filter((f) => f.commandIds?.[0] === exec.commandId);
    assert.ok(frames.length > 0);
    // Every frame of this exec's tunnel (stdin, stdout, stderr, the status) is its command's (events v3).
    const head = events.find((e): e is Frame => e.type === 'Frame' && e.messageType === 'http.request.head' && e.bytes.includes('/exec?'))!;
    assert.deepEqual(head.commandIds, [exec.commandId]);
    const types = frames.map((f) => `${f.direction === 'CLIENT_TO_SERVER' ? '>' : '<'} ${f.messageType}`);
    for (const ch of ['error', 'stdout', 'stderr']) {
      assert.ok(types.some((t) => new RegExp(`^> spdy\\.frame\\.syn_stream;stream=\\d+;channel=${ch}$`).test(t)), `SYN_STREAM of ${ch} in ${types.join(', ')}`);
      assert.ok(types.some((t) => new RegExp(`^< spdy\\.frame\\.syn_reply;stream=\\d+;channel=${ch}$`).test(t)), `SYN_REPLY of ${ch}`);
    }
    const stdout = frames.find((f) => f.direction === 'SERVER_TO_CLIENT' && /^spdy\.frame\.data;stream=\d+;channel=stdout$/.test(f.messageType) && f.bytes.length > 8)!;
    assert.equal(stdout.bytes.subarray(8).toString(), 'hello-over-spdy\n', 'the recorded frame is the wire frame');
    const status = frames.find((f) => f.messageType.endsWith('channel=error') && f.messageType.startsWith('spdy.frame.data') && f.bytes.length > 8)!;
    assert.match(status.bytes.toString(), /"status":"Success"/);
    assert.match(head.bytes.toString(), /^POST \/k8s\/api\/v1\/namespaces\/demo\/pods\/web\/exec\?\S+ HTTP\/1\.1\r\n[\s\S]*Upgrade: SPDY\/3\.1/i);
  });

  it('records what the agent types on stdin before it reaches the pod', async () => {
    const r = await kubectl(['exec', '-i', 'web', '--', 'cat'], 'typed-on-stdin\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'typed-on-stdin\n');
    const events = await settle(h, (e) => spdyFrames(e).some((f) => f.direction === 'CLIENT_TO_SERVER' && f.messageType.endsWith('channel=stdin') && f.bytes.includes('typed-on-stdin')));
    const stdin = spdyFrames(events).find((f) => f.direction === 'CLIENT_TO_SERVER' && f.messageType.endsWith('channel=stdin') && f.bytes.includes('typed-on-stdin'));
    assert.ok(stdin, 'the stdin frame is recorded');
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes('sa-token-for-the-upstream'), 'the service-account token is never recorded');
  });
});

describe('SPDY/3.1 tunnel with a malformed frame', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;
  const received: Buffer[] = [];
  before(async () => {
    up = await startUpstream((_r, res) => res.end('no'));
    up.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
      socket.on('data', (c: Buffer) => received.push(c));
      socket.on('error', () => {});
    });
    h = await startHarness([{ name: 'cluster', protocol: 'http', http: { upstream: up.url, kind: 'k8s', pathPrefix: '/k8s/' } }]);
    token = await h.token('agent:spdy-bad');
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  it('relays valid frames, then ends the tunnel on a malformed one without forwarding it', async () => {
    const w = new SpdyWriter();
    const good = Buffer.concat([await w.synStream(1, [['streamtype', ['error']]]), dataFrame(1, SPDY_FLAG_FIN, '')]);
    const bad = controlFrame(1, 0, Buffer.alloc(12), 2);
    w.close();
    const s = connect(h.port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('error', () => {});
    s.write(`POST /k8s/api/v1/namespaces/demo/pods/p/exec?command=ls&stdout=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n`);
    while (!Buffer.concat(got).includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 10));
    assert.match(Buffer.concat(got).toString(), /^HTTP\/1\.1 101 /);
    s.write(good);
    while (Buffer.concat(received).length < good.length) await new Promise((r) => setTimeout(r, 10));
    s.write(bad);
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(Buffer.concat(received).equals(good), 'the upstream got the valid frames and nothing after them');
    const frames = spdyFrames(h.sink.bodies());
    assert.deepEqual(
      frames.map((f) => f.messageType),
      ['spdy.frame.syn_stream;stream=1;channel=error', 'spdy.frame.data;stream=1;channel=error'],
    );
  });
});
