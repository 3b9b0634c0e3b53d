import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@chaperone/config';
import { IdentityError, TokenIssuer, TokenVerifier } from '../index.js';

let dir: string;
let keyFile: string;
let otherKeyFile: string;

function identityConfig(over: Partial<Config['identity']> = {}): Config['identity'] {
  return {
    issuer: 'chaperone-test', audience: 'gw-test', signingKeyFile: keyFile, defaultTtlMs: 15 * 60_000, maxTtlMs: 3_600_000,
    clockSkewMs: 30_000, maxTokenBytes: 8192, sessionGraceMs: 0, trustedIssuers: [], ...over,
  };
}

function pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof IdentityError, `expected IdentityError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

describe('identity tokens', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaperone-identity-'));
    keyFile = join(dir, 'signing.pem');
    otherKeyFile = join(dir, 'other.pem');
    await writeFile(keyFile, pem());
    await writeFile(otherKeyFile, pem());
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('issues a token that verifies to the same identity', async () => {
    const issuer = await TokenIssuer.fromConfig(identityConfig());
    const verifier = await TokenVerifier.fromConfig(identityConfig());
    const start = Date.now();
    const issued = await issuer.issueDetailed({ subject: 'ci:deploy-bot', groups: ['deployers', 'ci', 'ci'], ttlMs: 60_000, claims: { repo: 'acme/shop' } });
    const id = await verifier.verify(issued.token);
    assert.equal(id.subject, 'ci:deploy-bot');
    assert.equal(id.issuer, 'chaperone-test');
    assert.deepEqual(id.groups, ['deployers', 'ci']);
    assert.deepEqual(id.claims, { repo: 'acme/shop' });
    assert.equal(id.tokenId, issued.tokenId);
    assert.equal(id.expiresAt, issued.expiresAt);
    assert.ok(id.expiresAt >= start + 59_000 && id.expiresAt <= Date.now() + 61_000);
    const header = JSON.parse(Buffer.from(issued.token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header.alg, 'EdDSA');
    assert.equal(typeof header.kid, 'string');
  });

  it('gives every token its own id and uses the default ttl', async () => {
    const issuer = await TokenIssuer.fromConfig(identityConfig());
    const a = await issuer.issueDetailed({ subject: 'agent:a' });
    const b = await issuer.issueDetailed({ subject: 'agent:a' });
    assert.notEqual(a.tokenId, b.tokenId);
    assert.ok(Math.abs(a.expiresAt - (Date.now() + 15 * 60_000)) < 2000);
  });

  it('refuses a ttl above maxTtl and reserved claims', async () => {
    const issuer = await TokenIssuer.fromConfig(identityConfig());
    await rejectsWith(issuer.issue({ subject: 'x', ttlMs: 2 * 3_600_000 }), 'TTL_TOO_LONG', /exceeds the maximum 1h/);
    await rejectsWith(issuer.issue({ subject: 'x', claims: { sub: 'root' } }), 'REQUEST_INVALID', /sub/);
    await rejectsWith(issuer.issue({ subject: ' ' }), 'REQUEST_INVALID', /subject/);
  });

  it('refuses an expired token, allowing 30 s of clock skew', async () => {
    const t0 = Date.now() - 10 * 60_000;
    const issuer = await TokenIssuer.fromConfig(identityConfig(), { now: () => t0 });
    const token = await issuer.issue({ subject: 'agent:old', ttlMs: 60_000 });
    await rejectsWith((await TokenVerifier.fromConfig(identityConfig())).verify(token), 'TOKEN_EXPIRED', /token expired at .*chaperone token issue/);
    const skewed = await TokenVerifier.fromConfig(identityConfig(), { now: () => t0 + 60_000 + 20_000 });
    assert.equal((await skewed.verify(token)).subject, 'agent:old');
  });

  it('refuses a token from the future', async () => {
    const issuer = await TokenIssuer.fromConfig(identityConfig(), { now: () => Date.now() + 5 * 60_000 });
    const token = await issuer.issue({ subject: 'agent:future', ttlMs: 60_000 });
    await rejectsWith((await TokenVerifier.fromConfig(identityConfig())).verify(token), 'TOKEN_NOT_YET_VALID', /clock/);
  });

  it('refuses a tampered token', async () => {
    const issuer = await TokenIssuer.fromConfig(identityConfig());
    const verifier = await TokenVerifier.fromConfig(identityConfig());
    const token = await issuer.issue({ subject: 'agent:low', groups: ['readers'] });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    claims.groups = ['admins'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await rejectsWith(verifier.verify(forged), 'TOKEN_INVALID', /signature does not verify/);
    // Not a JWT at all: the message names what is wrong, never jose's "Invalid Compact JWS".
    await rejectsWith(verifier.verify('not-a-token'), 'TOKEN_INVALID', /^not a token: expected three base64url parts separated by dots, got 1; pass the whole token/);
    await rejectsWith(verifier.verify(`${h}.${p}`), 'TOKEN_INVALID', /^not a token: expected three base64url parts .* got 2/);
    await rejectsWith(verifier.verify(`${h}.${p}=.${s}`), 'TOKEN_INVALID', /^not a token: its payload \(part 2\) is not base64url/);
    await rejectsWith(verifier.verify(`${h}.bm90IGpzb24.${s}`), 'TOKEN_INVALID', /^not a token: its payload does not decode to a JSON object/);
    await rejectsWith(verifier.verify(`e30.${p}.${s}`), 'TOKEN_INVALID', /^token is malformed: its header or claims/);
    // alg=none must never be accepted.
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    await rejectsWith(verifier.verify(none), 'TOKEN_INVALID');
  });

  it('refuses a token signed with another key', async () => {
    const token = await (await TokenIssuer.fromConfig(identityConfig({ signingKeyFile: otherKeyFile }))).issue({ subject: 'agent:x' });
    await rejectsWith((await TokenVerifier.fromConfig(identityConfig())).verify(token), 'TOKEN_INVALID', /signed with a key chaperone-test does not publish/);
  });

  it('refuses a wrong audience or issuer', async () => {
    const verifier = await TokenVerifier.fromConfig(identityConfig());
    const aud = await (await TokenIssuer.fromConfig(identityConfig({ audience: 'other-gw' }))).issue({ subject: 'agent:x' });
    await rejectsWith(verifier.verify(aud), 'WRONG_AUDIENCE', /"other-gw".*expects "gw-test"/);
    const iss = await (await TokenIssuer.fromConfig(identityConfig({ issuer: 'someone-else' }))).issue({ subject: 'agent:x' });
    await rejectsWith(verifier.verify(iss), 'WRONG_ISSUER', /"someone-else"/);
  });

  it('explains an unusable key file', async () => {
    await rejectsWith(TokenIssuer.fromConfig(identityConfig({ signingKeyFile: join(dir, 'missing.pem') })), 'KEY_INVALID', /ENOENT.*openssl genpkey/);
    const rsa = join(dir, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await rejectsWith(TokenVerifier.fromConfig(identityConfig({ signingKeyFile: rsa })), 'KEY_INVALID', /rsa key.*Ed25519/);
  });
});
