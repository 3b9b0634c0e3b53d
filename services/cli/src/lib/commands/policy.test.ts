import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from './policy.js';

let dir: string;
let config: string;
let bundle: string;

async function cli(...args: string[]): Promise<{ out: string; error?: Error }> {
  const program = new Command('chaperone').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // Under --test, the runner reports to its parent through stdout as Buffers: let those pass.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? ((out += chunk), true) : write(chunk, ...rest));
  try {
    await program.parseAsync(['node', 'chaperone', ...args]);
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  } finally {
    process.stdout.write = write;
  }
}

describe('chaperone policy', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaperone-cli-policy-'));
    bundle = join(dir, 'bundle.tar.gz');
    config = join(dir, 'chaperone.yaml');
    await writeFile(
      config,
      'identity: { signingKeyFile: identity.pem }\nrecording: { nodeKeyFile: node.pem }\npolicy: { bundleFile: bundle.tar.gz }\n' +
        'connections:\n  - { name: orders-prod, protocol: postgres, labels: { env: prod }, postgres: { database: d, user: u } }\n',
    );
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('builds the bundle with the real OPA and reports its revision', async () => {
    const r = await cli('policy', 'build', '-o', bundle, '--json');
    assert.equal(r.error, undefined, r.error?.message);
    const j = JSON.parse(r.out) as { bundle: string; revision: string };
    assert.equal(j.bundle, bundle);
    assert.match(j.revision, /^sha256:[0-9a-f]{16}$/);
  });

  it('evaluates SQL against a configured connection (bundle from the configuration)', async () => {
    const r = await cli('policy', 'eval', '--config', config, '--connection', 'orders-prod', '--sql', 'DROP TABLE public.orders');
    assert.equal(r.error, undefined, r.error?.message);
    assert.match(r.out, /^DENY {2}\(revision sha256:[0-9a-f]+, \d+ µs\)$/m);
    assert.match(r.out, /DROP TABLE is not allowed on production connections \(policy: ddl-in-prod\)/);
  });

  it('evaluates an input file, parsing a text-only postgres command', async () => {
    const input = join(dir, 'input.json');
    await writeFile(
      input,
      JSON.stringify({
        identity: { subject: 'agent:claude', issuer: 'chaperone', groups: [], claims: {} },
        connection: { name: 'orders-dev', protocol: 'postgres', labels: { env: 'dev' } },
        session: { id: 's-1', clientAddress: '127.0.0.1:1', node: 'gw-1' },
        command: { protocol: 'postgres', text: 'UPDATE public.orders SET status = 0' },
      }),
    );
    const r = await cli('policy', 'eval', '--input', input, '--bundle', bundle, '--json');
    assert.equal(r.error, undefined, r.error?.message);
    const d = JSON.parse(r.out) as { result: string; reasons: string[]; approval: unknown };
    assert.equal(d.result, 'approval');
    assert.deepEqual(d.reasons, ['UPDATE on public.orders without a WHERE clause needs approval (policy: unbounded-write)']);
    assert.deepEqual(d.approval, { approverGroups: ['dba', 'sre-oncall'], quorum: 1, ttlMs: 900000 });
  });

  it('says what is wrong with its arguments', async () => {
    assert.match((await cli('policy', 'eval', '--bundle', bundle)).error!.message, /exactly one of --input/);
    assert.match((await cli('policy', 'eval', '--sql', 'select 1', '--bundle', join(dir, 'none.tar.gz'))).error!.message, /cannot read policy bundle .*chaperone policy build/);
    assert.match((await cli('policy', 'eval', '--config', config, '--connection', 'nope', '--sql', 'select 1')).error!.message, /no connection named "nope".*orders-prod/);
    assert.match((await cli('policy', 'eval', '--input', join(dir, 'missing.json'), '--bundle', bundle)).error!.message, /cannot read input .*ENOENT/);
  });
});
