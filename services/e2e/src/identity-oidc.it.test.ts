/**
 * Workload identity from trusted OIDC issuers (issue #13). deploy/local trusts two test issuers:
 * a GitHub-Actions-shaped one whose JWKS this test serves over HTTP on CHAPERONE_TEST_JWKS_PORT
 * (jwksUrl), and a Kubernetes-service-account-shaped one whose JWKS file this test writes
 * (jwksFile). Their tokens open psql and git sessions under the mapped subject and groups; a key
 * rotation is followed; during a JWKS outage cached keys keep working and an unknown kid is
 * refused; a wrong issuer, audience or required claim is refused on every protocol.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { loadConfig, type TrustedIssuer } from '@chaperone/config';
import { httpBase } from './lib/http.js';
import { chaperone, eventually, loadStack, run, type RunResult, type Stack } from './lib/stack.js';

type Key = { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK };

async function newKey(): Promise<Key> {
  const kid = `e2e-${randomBytes(6).toString('hex')}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

async function sign(k: Key, iss: string, claims: JWTPayload, aud = 'chaperone'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, nbf: now, exp: now + 600, jti: randomBytes(8).toString('hex'), ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT' })
    .setIssuer(iss)
    .setAudience(aud)
    .sign(k.privateKey);
}

describe('workload identity from trusted OIDC issuers', { timeout: 180_000 }, () => {
  let stack: Stack;
  let github: TrustedIssuer;
  let k8s: TrustedIssuer;
  let server: Server;
  let ghKeys: Key[] = [];
  let down = false;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-oidc-'));
  const repo = `acme/e2e-${randomBytes(4).toString('hex')}`;
  const ghClaims = { repository: repo, ref: 'refs/heads/main', repository_owner: 'acme', workflow: 'deploy' };
  const ghSubject = `repo:${repo}:ref:refs/heads/main`;
  const ns = `e2e-${randomBytes(4).toString('hex')}`;

  /** psql to one gateway node (or the balancer): each node keeps its own key cache. */
  const psql = (token: string, user: string, opts: { dbname?: string; port?: string } = {}): Promise<RunResult> =>
    run(
      'psql',
      [`host=127.0.0.1 port=${opts.port ?? stack.HAPROXY_PG_PORT} dbname=${opts.dbname ?? 'sandbox'} user=${user} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-At', '-c', 'SELECT 1'],
      { env: { ...process.env, PGPASSWORD: token, PGAPPNAME: 'e2e-oidc' } },
    );
  const nodePorts = (): string[] => stack.GATEWAY_PG_ADDRESSES!.split(',').map((a) => a.split(':')[1]!);
  const curl = (token: string, basic = false): Promise<RunResult> =>
    run('curl', ['-sS', '--cacert', stack.TLS_CA_FILE!, '-o', '/dev/null', '-w', '%{http_code}', ...(basic ? ['-u', `agent:${token}`] : ['-H', `Authorization: Bearer ${token}`]), `${httpBase(stack)}/git/demo.git/info/refs?service=git-upload-pack`]);

  before(async () => {
    stack = loadStack();
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const byShape = (s: string) => config.identity.trustedIssuers.find((t) => t.issuer.endsWith(s));
    assert.ok(byShape('/github') && byShape('/k8s'), 'the stack trusts no test issuers: rerun deploy/local/up (deploy/local/lib/app.sh writes them)');
    github = byShape('/github')!;
    k8s = byShape('/k8s')!;
    ghKeys = [await newKey()];
    const url = new URL((github.jwks as { url: string }).url);
    server = createServer((req, res) => {
      if (down) return void res.socket?.destroy();
      if (req.url !== url.pathname) return void res.writeHead(404).end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: ghKeys.map((k) => k.jwk) }));
    });
    await new Promise<void>((r) => server.listen(Number(url.port), url.hostname, r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a GitHub-Actions-shaped token opens psql and git sessions as repo:<repository>:ref:<ref> with the mapped groups', async () => {
    const token = await sign(ghKeys[0]!, github.issuer, { sub: `repo:${repo}:ref:refs/heads/main`, ...ghClaims });
    for (const port of nodePorts()) {
      const r = await psql(token, ghSubject, { port });
      assert.equal(r.code, 0, r.stderr);
    }
    const git = await run('git', ['ls-remote', `${httpBase(stack).replace('https://', `https://agent:${token}@`)}/git/demo.git`], {
      env: { ...process.env, GIT_SSL_CAINFO: stack.TLS_CA_FILE!, GIT_TERMINAL_PROMPT: '0', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
    });
    assert.equal(git.code, 0, git.stderr);
    const sessions = await eventually('the sessions in the store', async () => {
      const r = await chaperone(stack, ['sessions', 'ls', '--subject', ghSubject, '--json']);
      const rows = JSON.parse(r.stdout || '[]') as { protocol: string; groups: string[]; issuer: string }[];
      return rows.some((s) => s.protocol === 'postgres') && rows.some((s) => s.protocol === 'git') ? rows : undefined;
    }, 60_000);
    for (const s of sessions) {
      assert.equal(s.issuer, github.issuer);
      assert.deepEqual([...s.groups].sort(), ['github-actions', `repo:${repo}`]);
    }
  });

  it('a Kubernetes-service-account-shaped token (keys from a JWKS file) opens a psql session as system:serviceaccount:<ns>:<name>', async () => {
    const key = await newKey();
    writeFileSync((k8s.jwks as { file: string }).file, JSON.stringify({ keys: [key.jwk] }));
    await new Promise((r) => setTimeout(r, 1200)); // jwksCooldown 1s: the file is looked at again after it
    const token = await sign(key, k8s.issuer, { sub: `system:serviceaccount:${ns}:deployer`, 'kubernetes.io': { namespace: ns, serviceaccount: { name: 'deployer', uid: randomBytes(8).toString('hex') } } });
    const subject = `system:serviceaccount:${ns}:deployer`;
    const r = await psql(token, subject);
    assert.equal(r.code, 0, r.stderr);
    const row = await eventually('the k8s session in the store', async () => {
      const out = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      return (JSON.parse(out.stdout || '[]') as { groups: string[] }[])[0];
    }, 60_000);
    assert.deepEqual(row.groups, [`k8s-namespace:${ns}`]);
  });

  it('follows a key rotation, keeps cached keys through a JWKS outage and refuses an unknown kid then', async () => {
    const rotated = await newKey();
    ghKeys = [ghKeys[0]!, rotated];
    await new Promise((r) => setTimeout(r, 1200)); // past jwksCooldown since the last fetch
    const fresh = await sign(rotated, github.issuer, { sub: 'x', ...ghClaims });
    for (const port of nodePorts()) assert.equal((await psql(fresh, ghSubject, { port })).code, 0, `node on ${port} took the rotated key`);
    down = true;
    try {
      for (const port of nodePorts()) {
        const again = await psql(await sign(rotated, github.issuer, { sub: 'x', ...ghClaims }), ghSubject, { port });
        assert.equal(again.code, 0, `cached keys keep working during the outage (node ${port}): ${again.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 1200));
      const unknown = await psql(await sign(await newKey(), github.issuer, { sub: 'x', ...ghClaims }), ghSubject);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /signed with a key \(kid\) that .*\/github does not publish/);
    } finally {
      down = false;
    }
  });

  it('refuses a wrong issuer, audience or required claim on every protocol, saying which', async () => {
    const cases: [string, Promise<string>, RegExp][] = [
      ['issuer', sign(ghKeys[0]!, 'https://issuer.invalid', { sub: 'x', ...ghClaims }), /issued by "https:\/\/issuer\.invalid", this gateway trusts/],
      ['audience', sign(ghKeys[0]!, github.issuer, { sub: 'x', ...ghClaims }, 'someone-else'), /audience "someone-else", this gateway expects "chaperone"/],
      ['required claim', sign(ghKeys[0]!, github.issuer, { sub: 'x', ...ghClaims, repository_owner: 'mallory' }), /must have claim "repository_owner" = "acme".*"mallory"/],
    ];
    for (const [what, pending, message] of cases) {
      const token = await pending;
      const pg = await psql(token, ghSubject);
      assert.notEqual(pg.code, 0, what);
      assert.match(pg.stderr, message, `psql, wrong ${what}`);
      for (const basic of [false, true]) {
        const r = await curl(token, basic);
        assert.equal(r.stdout, '401', `${basic ? 'Basic' : 'Bearer'}, wrong ${what}`);
      }
      const body = await run('curl', ['-sS', '--cacert', stack.TLS_CA_FILE!, '-H', `Authorization: Bearer ${token}`, `${httpBase(stack)}/api/items`]);
      assert.match(body.stdout, message, `HTTP body, wrong ${what}`);
    }
  });
});
