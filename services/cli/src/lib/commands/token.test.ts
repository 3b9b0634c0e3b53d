import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from './token.js';

let dir: string;
let config: string;

/** Runs `chaperone <args>` in-process with only this command registered; captures stdout. */
async function cli(...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('chaperone').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // Under --test, the runner reports to its parent through stdout as Buffers: let those pass.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? ((out += chunk), true) : write(chunk, ...rest));
  try {
    await program.parseAsync(['node', 'chaperone', ...args, '--config', config]);
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  } finally {
    process.stdout.write = write;
  }
}

describe('chaperone token', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaperone-cli-token-'));
    await writeFile(join(dir, 'identity.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    config = join(dir, 'chaperone.yaml');
    await writeFile(
      config,
      'identity: { signingKeyFile: identity.pem, issuer: test-issuer, maxTtl: 1h }\nrecording: { nodeKeyFile: node.pem }\npolicy: { bundleFile: bundle.tar.gz }\n',
    );
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('issues a bare JWT that inspect verifies', async () => {
    const issued = await cli('token', 'issue', '--subject', 'ci:deploy-bot', '--groups', 'deployers,more', '--ttl', '15m', '--claim', 'repo=acme/shop');
    assert.equal(issued.error, undefined);
    const token = issued.out.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const shown = await cli('token', 'inspect', token, '--json');
    const id = JSON.parse(shown.out) as Record<string, unknown>;
    assert.equal(id.subject, 'ci:deploy-bot');
    assert.equal(id.issuer, 'test-issuer');
    assert.deepEqual(id.groups, ['deployers', 'more']);
    assert.deepEqual(id.claims, { repo: 'acme/shop' });
    assert.ok(Math.abs(Date.parse(id.expiresAt as string) - Date.now() - 15 * 60_000) < 2000);
    const text = await cli('token', 'inspect', token);
    assert.match(text.out, /^subject {3}ci:deploy-bot$/m);
    assert.match(text.out, /^expires .*\(in 1[45]m/m);
  });

  it('prints token, subject and expiry with --json', async () => {
    const r = await cli('token', 'issue', '-s', 'agent:x', '--json');
    const j = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(j.subject, 'agent:x');
    assert.equal(typeof j.token, 'string');
    assert.match(j.expiresAt as string, /^\d{4}-\d\d-\d\dT/);
  });

  it('explains refusals', async () => {
    const long = await cli('token', 'issue', '-s', 'x', '--ttl', '2h');
    assert.equal(long.error?.name, 'UserError');
    assert.match(long.error.message, /exceeds the maximum 1h/);
    const bad = await cli('token', 'issue', '-s', 'x', '--ttl', 'soon');
    assert.match(bad.error!.message, /not a duration/);
    const token = (await cli('token', 'issue', '-s', 'x')).out.trim();
    const tampered = `${token.slice(0, -4)}AAAA`;
    const r = await cli('token', 'inspect', tampered);
    assert.equal(r.error?.name, 'UserError');
    assert.match(r.error.message, /signature does not verify/);
  });

  it('exits 1 for a token past its exp, though within the clock skew, still printing it', async () => {
    const token = (await cli('token', 'issue', '-s', 'agent:brief', '--ttl', '1s')).out.trim();
    await new Promise((r) => setTimeout(r, 1100));
    const r = await cli('token', 'inspect', token, '--json');
    assert.equal(r.error?.name, 'UserError');
    assert.match(r.error.message, /^token expired at \d{4}-.*chaperone token issue/);
    assert.equal((JSON.parse(r.out) as { subject: string }).subject, 'agent:brief');
  });

  it('says what is wrong with something that is not a token', async () => {
    for (const [arg, why] of [['abc', /three base64url parts/], ['a.b.c', /header does not decode to a JSON object/], ['e30.e30', /three base64url parts/]] as const) {
      const r = await cli('token', 'inspect', arg);
      assert.equal(r.error?.name, 'UserError');
      assert.match(r.error.message, why);
      assert.doesNotMatch(r.error.message, /Invalid (Compact JWS|JWT)|Failed to/);
      assert.match(r.error.message, /chaperone token issue/);
    }
  });
});
