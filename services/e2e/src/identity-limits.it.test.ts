/**
 * Token limits and lifetimes on the real stack (issue #13): a token whose `exp − iat` exceeds
 * identity.maxTtl, whose `iat` lies in the future beyond identity.clockSkew, or that carries
 * 100 KiB of claims is refused on every protocol (PostgreSQL password, Bearer, Basic); a psql
 * session on a 20 s token is ended at expiry + identity.sessionGrace (5 s on deploy/local) with a
 * clear FATAL, and the recording says why; connection access (config `access`) refuses an
 * identity outside the connection's rule before the upstream is dialled.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT, type JWTPayload } from 'jose';
import { loadConfig, type Config } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { httpBase } from './lib/http.js';
import { chaperone, eventually, loadStack, run, type RunResult, type Stack } from './lib/stack.js';

describe('token limits, lifetimes and connection access', { timeout: 180_000 }, () => {
  let stack: Stack;
  let config: Config;
  let key: KeyObject;
  const subject = `agent:e2e-limits-${randomBytes(4).toString('hex')}`;

  /** A token signed with the stack's identity key, exactly as given (times in seconds). */
  const forge = (p: JWTPayload): Promise<string> =>
    new SignJWT({ sub: subject, jti: randomBytes(8).toString('hex'), groups: ['agents'], ...p })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(config.identity.issuer)
      .setAudience(config.identity.audience)
      .sign(key);

  const dir = mkdtempSync(join(tmpdir(), 'e2e-limits-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A 100 KiB token is over the kernel's limit for one argument or environment string: psql
  // reads it from a password file, curl its header from a file.
  const psql = (token: string, dbname = 'sandbox', user = subject): Promise<RunResult> => {
    const passfile = join(dir, 'pgpass');
    writeFileSync(passfile, `*:*:*:*:${token}\n`, { mode: 0o600 });
    return run('psql', [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=${dbname} user=${user} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-At', '-c', 'SELECT 1'], {
      env: { ...process.env, PGPASSFILE: passfile, PGAPPNAME: 'e2e-limits' },
    });
  };
  const http = (token: string, basic: boolean, h1 = false): Promise<RunResult> => {
    const header = join(dir, 'header');
    writeFileSync(header, `Authorization: ${basic ? `Basic ${Buffer.from(`agent:${token}`).toString('base64')}` : `Bearer ${token}`}\n`);
    return run('curl', ['-sS', '--cacert', stack.TLS_CA_FILE!, '-w', '\n%{http_code}', ...(h1 ? ['--http1.1'] : []), '-H', `@${header}`, `${httpBase(stack)}/api/items`]);
  };

  before(() => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
    key = createPrivateKey(readFileSync(config.identity.signingKeyFile));
    assert.equal(config.identity.sessionGraceMs, 5000, 'deploy/local sets identity.sessionGrace: 5s; rerun deploy/local/up');
  });

  it('refuses exp − iat over maxTtl, iat in the future and 100 KiB of claims on every protocol', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp, RegExp][] = [
      ['a year-long token', await forge({ iat: now, exp: now + 365 * 86_400 }), /lifetime 365d \(exp − iat\) exceeds the maximum/, /^401$/],
      ['iat an hour ahead', await forge({ iat: now + 3600, exp: now + 3700 }), /in the future by more than the 30s clock skew/, /^401$/],
      // Over HTTP the head limit answers first: 431 on HTTP/1.1 (gateway.httpProxy.maxHeaderBytes);
      // HTTP/2 refuses the stream (h2.maxHeaderListSize), which curl reports as status 000.
      ['100 KiB of claims', await forge({ iat: now, exp: now + 300, pad: 'x'.repeat(100 * 1024) }), /more than the 8192 this gateway accepts \(identity\.maxTokenBytes\)/, /^(431|000)$/],
    ];
    for (const [what, token, message, status] of cases) {
      const pg = await psql(token);
      assert.notEqual(pg.code, 0, `psql accepted ${what}`);
      assert.match(pg.stderr, message, `psql, ${what}`);
      for (const basic of [false, true]) {
        const r = await http(token, basic);
        const code = r.stdout.trim().split('\n').at(-1)!;
        assert.match(code, status, `${basic ? 'Basic' : 'Bearer'}, ${what}: ${r.stdout}`);
        assert.notEqual(code, '200');
        if (code === '401') assert.match(r.stdout, message, `${basic ? 'Basic' : 'Bearer'}, ${what}`);
      }
      if (what.startsWith('100 KiB')) assert.match((await http(token, false, true)).stdout, /431$/, 'HTTP/1.1 answers 431');
    }
  });

  it('ends a psql session at token expiry + grace with a clear FATAL, and records why', async () => {
    const issued = await (await TokenIssuer.fromConfig(config.identity)).issueDetailed({ subject, groups: ['agents'], ttlMs: 20_000 });
    // One short statement a second, for longer than the token lives.
    const script = Array.from({ length: 45 }, (_, i) => `SELECT ${i}, pg_sleep(1);`).join('\n');
    const t0 = Date.now();
    const r = await run('psql', [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=sandbox user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`, '-X', '-At', '-v', 'ON_ERROR_STOP=1'], {
      env: { ...process.env, PGPASSWORD: issued.token, PGAPPNAME: 'e2e-expiry' },
      input: script,
    });
    const endedAt = Date.now();
    assert.notEqual(r.code, 0, 'the session outlived its token');
    assert.match(r.stderr, /FATAL: {2}chaperone: the session's token expired at .*\(grace 5 s\); reconnect with a fresh token/);
    const due = issued.expiresAt + 5000;
    assert.ok(endedAt >= due - 1000 && endedAt <= due + 4000, `ended ${endedAt - due} ms from expiry + grace (psql ran ${endedAt - t0} ms)`);
    const session = await eventually('the ended session in the store', async () => {
      const out = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      return (JSON.parse(out.stdout || '[]') as { endReason: string; endError: string; attributesJson: string }[]).find((s) => s.endReason === 'token-expired');
    }, 60_000);
    assert.match(session.endError, /token expired at/);
  });

  it('refuses an identity outside a connection\'s access rule before dialling, naming the connection', async () => {
    const issuer = await TokenIssuer.fromConfig(config.identity);
    const outsider = await psql(await issuer.issue({ subject, groups: ['agents'], ttlMs: 60_000 }), 'restricted');
    assert.notEqual(outsider.code, 0);
    assert.match(outsider.stderr, new RegExp(`FATAL: {2}chaperone: ${subject} \\(groups agents\\) may not open connection "restricted"`));
    const dba = await psql(await issuer.issue({ subject, groups: ['dba'], ttlMs: 60_000 }), 'restricted');
    assert.equal(dba.code, 0, dba.stderr);
  });
});
