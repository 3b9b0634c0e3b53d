import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdentityError, claimAt, renderTemplate } from '../index.js';

const GH = 'https://token.actions.githubusercontent.com';

describe('claim mapping', () => {
  it('maps a GitHub Actions token to repo:{repository}:ref:{ref}', () => {
    const claims = { sub: 'repo:acme/shop:ref:refs/heads/main', repository: 'acme/shop', ref: 'refs/heads/main', repository_owner: 'acme' };
    assert.equal(renderTemplate('repo:{repository}:ref:{ref}', claims, GH), 'repo:acme/shop:ref:refs/heads/main');
    assert.equal(renderTemplate('github-org:{repository_owner}', claims, GH), 'github-org:acme');
  });

  it('reads nested Kubernetes service-account claims through dotted names', () => {
    const claims = { 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'deployer', uid: 'u-1' } } };
    assert.equal(claimAt(claims, 'kubernetes.io.namespace'), 'ci');
    assert.equal(renderTemplate('system:serviceaccount:{kubernetes.io.namespace}:{kubernetes.io.serviceaccount.name}', claims, 'k8s'), 'system:serviceaccount:ci:deployer');
  });

  it('refuses a template whose claim is missing, empty or not a scalar', () => {
    for (const claims of [{}, { ref: '' }, { ref: ['a'] }, { ref: { x: 1 } }, { ref: null }]) {
      assert.throws(() => renderTemplate('ref:{ref}', claims, GH), (e: IdentityError) => e.code === 'CLAIM_REQUIRED' && /"ref"/.test(e.message));
    }
  });

  it('property: text without placeholders is kept as it is', () => {
    fc.assert(fc.property(fc.string().filter((s) => !/[{}]/.test(s)), fc.dictionary(fc.string(), fc.string()), (tpl, claims) => renderTemplate(tpl, claims, GH) === tpl));
  });

  it('property: every placeholder is replaced by its claim, literally', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 4 }), fc.array(fc.string({ minLength: 1 }), { minLength: 4, maxLength: 4 }), (names, values) => {
        const claims = Object.fromEntries(names.map((n, i) => [n, values[i]!]));
        const tpl = names.map((n) => `${n}={${n}}`).join(';');
        assert.equal(renderTemplate(tpl, claims, GH), names.map((n, i) => `${n}=${values[i]}`).join(';'));
      }),
    );
  });
});
