import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { policyPackDir } from './policy-pack.js';

const checkoutPolicies = realpathSync(fileURLToPath(new URL('../../../../policies/', import.meta.url)));

describe('the policy pack the CLI ships with', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaperone-policy-pack-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is policies/ of the checkout when the CLI runs from one', () => {
    assert.equal(policyPackDir(), checkoutPolicies);
  });

  it('is the installed @chaperone/policies package elsewhere, and its package files build a bundle', () => {
    // What `npm install` of the CLI puts beside it: the packed @chaperone/policies (its "files").
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: checkoutPolicies, encoding: 'utf8' })) as { filename: string }[];
    const installed = join(dir, 'node_modules', '@chaperone', 'policies');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, packed!.filename), '-C', installed, '--strip-components=1']);
    const cliFile = join(dir, 'node_modules', '@chaperone', 'cli', 'dist', 'lib', 'policy-pack.js');
    mkdirSync(join(cliFile, '..'), { recursive: true });

    const pack = policyPackDir(pathToFileURL(cliFile));
    assert.equal(pack, realpathSync(installed));
    for (const f of ['build.sh', 'test.sh', 'authz.rego', 'authz_test.rego', 'data.json', 'build/bundle.tar.gz']) assert.ok(existsSync(join(pack, f)), `the package ships ${f}`);
    const out = join(dir, 'bundle.tar.gz');
    execFileSync('bash', [join(pack, 'build.sh'), '-o', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(existsSync(out), 'build.sh of the installed pack wrote a bundle');
  });
});
