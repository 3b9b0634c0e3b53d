/**
 * The registry token flow (credentials type registryToken) against Debian's docker-registry
 * configured for token authentication. The token server is a small stand-in written here: it
 * checks the gateway's Basic credentials and signs ES256 tokens with an x5c chain the registry's
 * rootcertbundle trusts, as distribution's token auth specifies.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from '@chaperone/events';
import { startHarness, type Harness } from './harness.js';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function hasRegistry(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry && command -v openssl'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('registry token flow against docker-registry with token auth', { skip: !hasRegistry() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-regtoken-'));
  let registry: ChildProcess;
  let tokenServer: Server;
  let h: Harness;
  const scopes: string[] = [];

  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=token-signer'], { stdio: 'ignore' });
    const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
    const certDer = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw;
    const [regPort, tokenPort] = [await freePort(), await freePort()];
    tokenServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.headers.authorization !== `Basic ${Buffer.from('robot:robot-secret').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      const scope = url.searchParams.get('scope') ?? '';
      scopes.push(scope);
      const [type, name, actions] = scope.split(':');
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
      const claims = b64url(JSON.stringify({ iss: 'test-issuer', sub: 'robot', aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access: type ? [{ type, name, actions: (actions ?? '').split(',') }] : [] }));
      const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
    });
    await new Promise<void>((r) => tokenServer.listen(tokenPort, '127.0.0.1', r));
    writeFileSync(
      join(dir, 'config.yml'),
      `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: 127.0.0.1:${regPort} }\n` +
        `auth: { token: { realm: "http://127.0.0.1:${tokenPort}/token", service: test-registry, issuer: test-issuer, rootcertbundle: ${dir}/cert.pem } }\n`,
    );
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${regPort}/v2/`).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    h = await startHarness([
      { name: 'registry', protocol: 'http', http: { upstream: `http://127.0.0.1:${regPort}`, kind: 'oci', pathPrefix: '/v2/', stripPrefix: false, credentials: { type: 'registryToken', username: 'robot', password: { value: 'robot-secret' } } } },
    ]);
  });
  after(async () => {
    await h?.close();
    registry?.kill();
    tokenServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches a token per repository scope and the registry accepts it', async () => {
    const auth = { Authorization: `Bearer ${await h.token()}` };
    const upload = await fetch(`${h.base}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: auth });
    assert.equal(upload.status, 202, await upload.text());
    const tags = await fetch(`${h.base}/v2/team/app/tags/list`, { headers: auth });
    assert.equal(tags.status, 404, 'an empty repository: authorized, nothing there');
    assert.match(await tags.text(), /NAME_UNKNOWN/);
    assert.deepEqual(scopes, ['repository:team/app:pull,push', 'repository:team/app:pull']);
    const again = await fetch(`${h.base}/v2/team/app/tags/list`, { headers: auth });
    assert.equal(again.status, 404);
    assert.equal(scopes.length, 2, 'the token is cached for its scope');
    const cmds = h.sink.bodies().filter((e): e is Command => e.type === 'Command');
    assert.deepEqual(cmds.map((c) => c.action), ['oci.blob.upload.start', 'oci.tags.list', 'oci.tags.list']);
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes('robot-secret'));
  });
});
