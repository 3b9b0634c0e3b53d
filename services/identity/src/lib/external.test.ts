import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Config, TrustedIssuer } from '@chaperone/config';
import { IdentityError, TokenVerifier } from '../index.js';

const GH = 'https://token.actions.githubusercontent.com';
const K8S = 'https://kubernetes.default.svc.cluster.local';

type Key = { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK };
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A JWKS endpoint the test controls: which keys it publishes, and whether it answers at all. */
class JwksServer {
  keys: Key[] = [];
  down = false;
  fetches = 0;
  private server!: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.fetches++;
      if (this.down) return void res.socket?.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

function issuer(over: Partial<TrustedIssuer> & Pick<TrustedIssuer, 'issuer' | 'jwks'>): TrustedIssuer {
  return {
    audiences: ['chaperone'], algorithms: ['RS256'], requiredClaims: {}, subject: '{sub}', groups: [], groupsClaim: undefined,
    maxTtlMs: 6 * 3_600_000, jwksCooldownMs: 0, jwksCacheMaxAgeMs: 600_000, jwksTimeoutMs: 2000, ...over,
  };
}

async function sign(k: Key, iss: string, p: JWTPayload, aud = 'chaperone'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, nbf: now, exp: now + 300, ...p }).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuer(iss).setAudience(aud).sign(k.privateKey);
}

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof IdentityError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('trusted OIDC issuers', () => {
  const gh = new JwksServer();
  let dir: string;
  let cfg: Config['identity'];
  let k8sKey: Key;

  before(async () => {
    await gh.start();
    gh.keys = [await newKey('gh-1')];
    k8sKey = await newKey('k8s-1');
    dir = await mkdtemp(join(tmpdir(), 'chaperone-oidc-'));
    await writeFile(join(dir, 'own.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await writeFile(join(dir, 'k8s-jwks.json'), JSON.stringify({ keys: [k8sKey.jwk] }));
    cfg = {
      issuer: 'chaperone', audience: 'chaperone', signingKeyFile: join(dir, 'own.pem'), defaultTtlMs: 60_000, maxTtlMs: 3_600_000,
      clockSkewMs: 30_000, maxTokenBytes: 8192, sessionGraceMs: 0,
      trustedIssuers: [
        issuer({
          issuer: GH, jwks: { url: gh.url }, requiredClaims: { repository_owner: 'acme' },
          subject: 'repo:{repository}:ref:{ref}', groups: ['github-actions', 'repo:{repository}'],
        }),
        issuer({
          issuer: K8S, jwks: { file: join(dir, 'k8s-jwks.json') }, audiences: ['https://chaperone.internal'],
          subject: 'system:serviceaccount:{kubernetes.io.namespace}:{kubernetes.io.serviceaccount.name}', groups: ['k8s:{kubernetes.io.namespace}'],
        }),
      ],
    };
  });
  after(async () => {
    await gh.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('maps a GitHub Actions token to its repository and ref', async () => {
    const v = await TokenVerifier.fromConfig(cfg);
    const token = await sign(gh.keys[0]!, GH, { sub: 'repo:acme/shop:ref:refs/heads/main', repository: 'acme/shop', ref: 'refs/heads/main', repository_owner: 'acme', jti: 'gh-jti-1' });
    const id = await v.verify(token);
    assert.equal(id.subject, 'repo:acme/shop:ref:refs/heads/main');
    assert.equal(id.issuer, GH);
    assert.deepEqual(id.groups, ['github-actions', 'repo:acme/shop']);
    assert.equal(id.tokenId, 'gh-jti-1');
    assert.equal(id.claims.repository, 'acme/shop');
  });

  it('maps a Kubernetes service-account token from a JWKS file, without jti', async () => {
    const v = await TokenVerifier.fromConfig(cfg);
    const token = await sign(k8sKey, K8S, { sub: 'system:serviceaccount:ci:deployer', 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'deployer', uid: 'u1' } } }, 'https://chaperone.internal');
    const id = await v.verify(token);
    assert.equal(id.subject, 'system:serviceaccount:ci:deployer');
    assert.deepEqual(id.groups, ['k8s:ci']);
    assert.match(id.tokenId, /^sha256:[0-9a-f]{32}$/);
  });

  it('refuses a wrong issuer, audience, required claim, or a foreign key, saying which', async () => {
    const v = await TokenVerifier.fromConfig(cfg);
    const base = { sub: 's', repository: 'acme/shop', ref: 'main', repository_owner: 'acme' };
    await refused(v.verify(await sign(gh.keys[0]!, 'https://evil.example', base)), 'WRONG_ISSUER', /"https:\/\/evil\.example".*trusts "chaperone", "https:\/\/token\.actions/);
    await refused(v.verify(await sign(gh.keys[0]!, GH, base, 'someone-else')), 'WRONG_AUDIENCE', /"someone-else".*expects "chaperone"/);
    await refused(v.verify(await sign(gh.keys[0]!, GH, { ...base, repository_owner: 'mallory' })), 'CLAIM_REQUIRED', /"repository_owner" = "acme".*has "mallory"/);
    await refused(v.verify(await sign(gh.keys[0]!, GH, { sub: 's', repository_owner: 'acme', ref: 'main' })), 'CLAIM_REQUIRED', /"repository"/);
    await refused(v.verify(await sign(await newKey('gh-1'), GH, base)), 'TOKEN_INVALID', /signature does not verify/);
  });

  it('applies the same lifetime limits to external tokens', async () => {
    const v = await TokenVerifier.fromConfig(cfg);
    const now = Math.floor(Date.now() / 1000);
    const base = { sub: 's', repository: 'acme/shop', ref: 'main', repository_owner: 'acme' };
    await refused(v.verify(await sign(gh.keys[0]!, GH, { ...base, iat: now, nbf: now, exp: now + 7 * 3600 })), 'TTL_TOO_LONG', /exceeds the maximum 6h/);
    await refused(v.verify(await sign(gh.keys[0]!, GH, { ...base, iat: now + 3600, nbf: undefined, exp: now + 3700 })), 'TOKEN_NOT_YET_VALID', /clock skew/);
  });

  it('follows a key rotation, keeps cached keys through an outage, refuses an unknown kid then', async () => {
    const v = await TokenVerifier.fromConfig(cfg);
    const base = { sub: 's', repository: 'acme/shop', ref: 'main', repository_owner: 'acme' };
    assert.equal((await v.verify(await sign(gh.keys[0]!, GH, base))).subject, 'repo:acme/shop:ref:main');
    const rotated = await newKey('gh-2');
    gh.keys = [gh.keys[0]!, rotated];
    assert.equal((await v.verify(await sign(rotated, GH, base))).subject, 'repo:acme/shop:ref:main', 'an unknown kid refetches the JWKS');
    gh.down = true;
    const before = gh.fetches;
    assert.equal((await v.verify(await sign(rotated, GH, base))).subject, 'repo:acme/shop:ref:main', 'cached keys answer during the outage');
    await refused(v.verify(await sign(await newKey('gh-3'), GH, base)), 'TOKEN_INVALID', /kid|does not publish/);
    assert.ok(gh.fetches - before <= 1, `at most one fetch attempt during the outage, got ${gh.fetches - before}`);
    gh.down = false;
  });

  it('refuses while keys were never fetched and the issuer is down', async () => {
    const down = new JwksServer();
    await down.start();
    down.down = true;
    const v = await TokenVerifier.fromConfig({ ...cfg, trustedIssuers: [issuer({ issuer: 'https://down.example', jwks: { url: down.url } })] });
    await refused(v.verify(await sign(gh.keys[0]!, 'https://down.example', { sub: 'x' })), 'KEYS_UNAVAILABLE', /cannot get the signing keys of https:\/\/down\.example/);
    await down.stop();
  });
});
