/**
 * skopeo through the listener to Debian's docker-registry (htpasswd auth, injected by the
 * gateway): a multi-layer image built offline as an OCI layout is copied in and out, and a tag
 * overwrite is refused by the policy.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Command, Frame } from '@chaperone/events';
import { startHarness, type Harness } from './harness.js';

const MAKE_IMAGE = fileURLToPath(new URL('../../../../../../deploy/local/oci/make-image.mjs', import.meta.url));

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 120_000 }, (err, so, se) => resolve({ code: err ? 1 : 0, out: `${so}${se}` })));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

describe('OCI registry through the listener (skopeo + docker-registry)', { skip: !hasTools() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-oci-'));
  let registry: ChildProcess;
  let h: Harness;
  let token: string;
  let gw: string;

  before(async () => {
    const hash = execFileSync('python3', ['-W', 'ignore', '-c', "import crypt; print(crypt.crypt('reg-secret', crypt.mksalt(crypt.METHOD_BLOWFISH)))"], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `reg-bot:${hash}\n`);
    const port = await freePort();
    writeFileSync(
      join(dir, 'config.yml'),
      `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }\nhttp: { addr: 127.0.0.1:${port} }\nauth: { htpasswd: { realm: test, path: ${dir}/htpasswd } }\n`,
    );
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    await waitFor(`http://127.0.0.1:${port}/v2/`);
    h = await startHarness(
      [{ name: 'registry', protocol: 'http', http: { upstream: `http://127.0.0.1:${port}`, kind: 'oci', pathPrefix: '/v2/', stripPrefix: false, credentials: { type: 'basic', username: 'reg-bot', password: { value: 'reg-secret' } } } }],
      (input) => {
        const oci = input.command.oci as { op?: string; tag?: string; overwrite?: boolean | null } | undefined;
        return oci?.op === 'manifest.push' && oci.tag === 'v1' && oci.overwrite !== false ? { result: 'deny', reasons: ['release tags are immutable (policy: test)'] } : { result: 'allow', reasons: [] };
      },
    );
    token = await h.token();
    gw = `127.0.0.1:${h.port}`;
    for (const [name, seed] of [['img', 'a'], ['img2', 'b']] as const) execFileSync('node', [MAKE_IMAGE, join(dir, name), '--layers', '3', '--layer-size', '300KiB', '--seed', seed]);
  });
  after(async () => {
    await h?.close();
    registry?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const creds = (): string[] => ['--dest-creds', `agent:${token}`, '--dest-tls-verify=false'];

  it('copies a multi-layer image in and out, recording manifest and blob commands', async () => {
    const push = await run('skopeo', ['copy', '-q', ...creds(), `oci:${join(dir, 'img')}:latest`, `docker://${gw}/team/app:v1`]);
    assert.equal(push.code, 0, push.out);
    const pull = await run('skopeo', ['copy', '-q', '--src-creds', `agent:${token}`, '--src-tls-verify=false', `docker://${gw}/team/app:v1`, `dir:${join(dir, 'out')}`]);
    assert.equal(pull.code, 0, pull.out);
    const cmds = h.sink.bodies().filter((e): e is Command => e.type === 'Command' && e.protocol === 'oci');
    const actions = new Set(cmds.map((c) => c.action));
    for (const a of ['oci.manifest.push', 'oci.manifest.pull', 'oci.blob.pull']) assert.ok(actions.has(a), `${a} in ${[...actions].join(', ')}`);
    assert.ok(actions.has('oci.blob.upload.start') || actions.has('oci.blob.upload'), 'blob uploads');
    const mpush = cmds.find((c) => c.action === 'oci.manifest.push')!;
    const d = JSON.parse(mpush.detailsJson) as { repository: string; tag: string; overwrite: boolean; digest: string; manifest: { layers: number } };
    assert.equal(d.repository, 'team/app');
    assert.equal(d.tag, 'v1');
    assert.equal(d.overwrite, false);
    assert.equal(d.manifest.layers, 3);
    assert.match(d.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(mpush.targets, ['team/app:v1']);
    const layerBodies = h.sink.bodies().filter((e): e is Frame => e.type === 'Frame' && e.messageType === 'http.request.body' && e.bytes.length > 100_000);
    assert.equal(layerBodies.length, 0, 'layer bytes are kept as size + digest only');
  });

  it('refuses overwriting an immutable tag with different content; the same content is no overwrite', async () => {
    const again = await run('skopeo', ['copy', '-q', ...creds(), `oci:${join(dir, 'img')}:latest`, `docker://${gw}/team/app:v1`]);
    assert.equal(again.code, 0, again.out);
    const other = await run('skopeo', ['copy', '-q', ...creds(), `oci:${join(dir, 'img2')}:latest`, `docker://${gw}/team/app:v1`]);
    assert.notEqual(other.code, 0);
    assert.match(other.out, /chaperone: denied by policy: release tags are immutable/);
    const last = h.sink.bodies().filter((e): e is Command => e.type === 'Command' && e.action === 'oci.manifest.push').at(-1)!;
    assert.equal((JSON.parse(last.detailsJson) as { overwrite: boolean }).overwrite, true);
  });
});

function hasTools(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v skopeo && command -v docker-registry && python3 -W ignore -c "import crypt"'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
