/**
 * skopeo through the load-balanced TLS endpoint to Debian's docker-registry: a multi-layer image
 * built offline as an OCI layout (deploy/local/oci/make-image.mjs) is copied in and out, and
 * overwriting its tag with other content is refused by the default policy pack before the
 * registry sees the manifest.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsOf, issueToken, logSince, logSize, replayOf, uniqueSubject } from './lib/http.js';
import { loadStack, repoRoot, run, type Stack } from './lib/stack.js';

describe('HTTP gateway: OCI registry (skopeo + docker-registry)', () => {
  let stack: Stack;
  let token: string;
  const subject = uniqueSubject('oci');
  const dir = mkdtempSync(join(tmpdir(), 'e2e-oci-'));
  const repo = `e2e/app-${randomBytes(3).toString('hex')}`;
  let image: { manifest: string; layers: string[] };
  let dest: string;
  // skopeo trusts a registry's CA from <cert-dir>/*.crt.
  const certs = join(dir, 'certs');
  const creds = (): string[] => ['--dest-creds', `agent:${token}`, '--dest-cert-dir', certs];

  before(async () => {
    stack = loadStack();
    token = await issueToken(stack, subject);
    mkdirSync(certs);
    copyFileSync(stack.TLS_CA_FILE!, join(certs, 'ca.crt'));
    const made = await run('node', [`${repoRoot}deploy/local/oci/make-image.mjs`, join(dir, 'image'), '--layers', '3', '--layer-size', '2MiB', '--seed', randomBytes(4).toString('hex')]);
    assert.equal(made.code, 0, made.stderr);
    image = JSON.parse(made.stdout) as typeof image;
    const other = await run('node', [`${repoRoot}deploy/local/oci/make-image.mjs`, join(dir, 'other'), '--layers', '2', '--layer-size', '64KiB', '--seed', randomBytes(4).toString('hex')]);
    assert.equal(other.code, 0, other.stderr);
    dest = `docker://127.0.0.1:${stack.HAPROXY_HTTP_PORT}/${repo}:v1`;
  });

  it('copies a multi-layer image into the registry and back out, byte for byte', async () => {
    const push = await run('skopeo', ['copy', '-q', ...creds(), `oci:${join(dir, 'image')}:latest`, dest], { timeout: 180_000 });
    assert.equal(push.code, 0, push.stderr);
    const out = join(dir, 'pulled');
    const pull = await run('skopeo', ['copy', '-q', '--src-creds', `agent:${token}`, '--src-cert-dir', certs, dest, `dir:${out}`], { timeout: 180_000 });
    assert.equal(pull.code, 0, pull.stderr);
    for (const layer of image.layers) {
      const hex = layer.slice('sha256:'.length);
      assert.equal(createHash('sha256').update(readFileSync(join(out, hex))).digest('hex'), hex, `layer ${layer} round-trips`);
    }
  });

  it('refuses overwriting the tag with another image; the registry never gets that manifest', async () => {
    const before = logSize(stack.REGISTRY_LOG!);
    const r = await run('skopeo', ['copy', '-q', ...creds(), `oci:${join(dir, 'other')}:latest`, dest], { timeout: 180_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /chaperone: denied by policy: overwriting the existing tag/);
    await new Promise((res) => setTimeout(res, 300));
    const puts = logSince(stack.REGISTRY_LOG!, before).split('\n').filter((l) => l.includes(`"PUT /v2/${repo}/manifests/v1`));
    assert.deepEqual(puts, [], 'no manifest PUT reached the registry');
  });

  it('records repository, operation, tag/digest and overwrite as commands', async () => {
    const rows = await commandsOf(stack, subject, 2, "action = 'oci.manifest.push'");
    const first = JSON.parse(rows[0]!.details) as { repository: string; op: string; tag: string; digest: string; overwrite: boolean; manifest: { layers: number } };
    assert.deepEqual({ repository: first.repository, op: first.op, tag: first.tag, overwrite: first.overwrite, layers: first.manifest.layers }, { repository: repo, op: 'manifest.push', tag: 'v1', overwrite: false, layers: 3 });
    assert.equal(first.digest, image.manifest);
    assert.equal(rows[0]!.decision, 'ALLOW');
    assert.deepEqual(rows[0]!.targets, [`${repo}:v1`]);
    const refused = rows.find((r) => r.decision === 'DENY')!;
    assert.equal((JSON.parse(refused.details) as { overwrite: boolean }).overwrite, true);
    assert.match(refused.reasons.join(' '), /oci-tag-overwrite/);
    const blobs = await commandsOf(stack, subject, 1, "action IN ('oci.blob.upload.complete', 'oci.blob.upload', 'oci.blob.pull')");
    assert.ok(blobs.some((b) => b.action === 'oci.blob.pull'));
    const replay = await replayOf(stack, refused.session_id);
    assert.match(replay, /oci\.manifest\.push[\s\S]*DENY[\s\S]*oci-tag-overwrite/);
  });
});
