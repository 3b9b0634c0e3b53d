import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SignJWT, type JWTPayload } from 'jose';
import type { Config } from '@chaperone/config';
import { IdentityError, TokenVerifier } from '../index.js';

const NOW = Date.UTC(2026, 11, 7, 6, 0, 0);
const SKEW = 30_000;
const MAX_TTL = 3_600_000;
let dir: string;
let key: KeyObject;
let cfg: Config['identity'];

/** A token signed with the identity key, with exactly the given times (seconds) and claims. */
async function sign(p: JWTPayload): Promise<string> {
  return new SignJWT({ jti: 'test', sub: 'agent:limits', ...p })
    .setProtectedHeader({ alg: 'EdDSA' })
    .setIssuer('chaperone-test')
    .setAudience('gw-test')
    .sign(key);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    assert.ok(err instanceof IdentityError, `expected IdentityError, got ${String(err)}`);
    return err.code;
  }
}

describe('token verifier limits', () => {
  let verifier: TokenVerifier;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaperone-limits-'));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    key = createPrivateKey(pem);
    await writeFile(join(dir, 'k.pem'), pem);
    cfg = {
      issuer: 'chaperone-test', audience: 'gw-test', signingKeyFile: join(dir, 'k.pem'), defaultTtlMs: 60_000, maxTtlMs: MAX_TTL,
      clockSkewMs: SKEW, maxTokenBytes: 8192, sessionGraceMs: 0, trustedIssuers: [],
    };
    verifier = await TokenVerifier.fromConfig(cfg, { now: () => NOW });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const t = Math.floor(NOW / 1000);

  it('refuses exp − iat beyond maxTtl even when the signature is good', async () => {
    const token = await sign({ iat: t, exp: t + 365 * 86_400 });
    await assert.rejects(verifier.verify(token), (e: IdentityError) => e.code === 'TTL_TOO_LONG' && /lifetime 365d .*exceeds the maximum 1h/.test(e.message));
    assert.equal(await codeOf(verifier.verify(await sign({ iat: t, exp: t + 3600 }))), 'OK');
  });

  it('refuses iat in the future beyond the clock skew, accepts it within', async () => {
    await assert.rejects(verifier.verify(await sign({ iat: t + 3600, exp: t + 3700 })), (e: IdentityError) => e.code === 'TOKEN_NOT_YET_VALID' && /30s clock skew/.test(e.message));
    assert.equal(await codeOf(verifier.verify(await sign({ iat: t + 20, exp: t + 120 }))), 'OK');
  });

  it('refuses a token without iat', async () => {
    assert.equal(await codeOf(verifier.verify(await sign({ exp: t + 60 }))), 'TOKEN_INVALID');
  });

  it('accepts a token up to the clock skew after exp, not later', async () => {
    const token = await sign({ iat: t - 120, exp: t - 20 });
    assert.equal(await codeOf(verifier.verify(token)), 'OK');
    assert.equal(await codeOf(verifier.verify(await sign({ iat: t - 120, exp: t - 31 }))), 'TOKEN_EXPIRED');
  });

  it('refuses a token larger than maxTokenBytes before parsing it', async () => {
    const big = await sign({ iat: t, exp: t + 60, pad: 'x'.repeat(100 * 1024) });
    await assert.rejects(verifier.verify(big), (e: IdentityError) => e.code === 'TOKEN_TOO_LARGE' && /identity\.maxTokenBytes/.test(e.message));
  });

  it('property: accepted exactly when iat ≤ now + skew, exp − iat ≤ maxTtl and exp ≥ now − skew', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -7200, max: 7200 }), fc.integer({ min: 1, max: 3 * 3600 }), async (iatOffset, ttl) => {
        const iat = t + iatOffset;
        const exp = iat + ttl;
        const want = iat * 1000 <= NOW + SKEW && ttl * 1000 <= MAX_TTL && exp * 1000 >= NOW - SKEW && !(exp * 1000 < NOW - SKEW);
        const code = await codeOf(verifier.verify(await sign({ iat, exp })));
        // jose's own exp check uses `exp <= now - tolerance` (strict at the boundary second).
        if (exp * 1000 === NOW - SKEW) return;
        assert.equal(code === 'OK', want, `iat ${iatOffset}s, ttl ${ttl}s: ${code}`);
      }),
      { numRuns: 150 },
    );
  });

  it('property: any input over the size limit is refused as too large, anything else never crashes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 0, maxLength: 12_000 }), async (s) => {
        const code = await codeOf(verifier.verify(s));
        if (Buffer.byteLength(s.trim()) > cfg.maxTokenBytes) assert.equal(code, 'TOKEN_TOO_LARGE');
        else assert.notEqual(code, 'OK');
      }),
      { numRuns: 200 },
    );
  });
});
