import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputSerializer, policyInputBase } from './input-json.js';
import type { PolicyInput } from './types.js';

const base = () => ({
  identity: { subject: 'ci:deploy-bot', issuer: 'https://token.actions.githubusercontent.com', groups: ['deployers'], claims: { repository: 'acme/shop', run: { id: 7, attempt: 1 } } },
  connection: { name: 'orders', protocol: 'postgres', labels: { env: 'prod' } },
  session: { id: 's-1', clientAddress: '127.0.0.1:5000', node: 'gw-1' },
});
const frozenBase = (b: ReturnType<typeof base> = base()) => policyInputBase(b.identity, b.connection, b.session);
const command = (text: string) => ({ protocol: 'postgres', action: 'SELECT', text, targets: [] });

describe('InputSerializer', () => {
  it('gives exactly JSON.stringify of the input, with a frozen session part or without', () => {
    const s = new InputSerializer();
    const frozen = frozenBase();
    for (const text of ['SELECT 1', 'SELECT \'żółć "quoted" 🚀\'', 'x'.repeat(10_000)]) {
      const a: PolicyInput = { ...frozen, command: command(text) };
      const b: PolicyInput = { ...base(), command: command(text) };
      assert.equal(s.json(a), JSON.stringify(a));
      assert.equal(s.json(a), JSON.stringify(a), 'second time, from the cached prefix');
      assert.equal(s.json(b), JSON.stringify(b));
    }
  });

  it('copies and deep-freezes the session part, so the cached prefix can never go stale', () => {
    const raw = base();
    const frozen = frozenBase(raw);
    raw.identity.groups.push('dba');
    assert.deepEqual(frozen.identity.groups, ['deployers']);
    assert.ok(Object.isFrozen(frozen.identity.claims.run));
    assert.throws(() => frozen.identity.groups.push('dba'), TypeError);
  });

  it("takes only the contract's fields of an identity (a token id or expiry stays out of the policy input)", () => {
    const b = base();
    const frozen = policyInputBase({ ...b.identity, tokenId: 'jti-1', expiresAt: 1 } as typeof b.identity, b.connection, b.session);
    assert.deepEqual(Object.keys(frozen.identity), ['subject', 'issuer', 'groups', 'claims']);
  });

  it('serializes a partly frozen session part whole every time (a nested object may still change)', () => {
    const s = new InputSerializer();
    const b = base();
    Object.freeze(b.identity);
    Object.freeze(b.connection);
    Object.freeze(b.session);
    const input: PolicyInput = { ...b, command: command('SELECT 1') };
    assert.equal(s.json(input), JSON.stringify(input));
    b.identity.groups.push('dba'); // groups was not frozen
    assert.equal(s.json(input), JSON.stringify(input));
    assert.match(s.json(input), /"dba"/);
  });

  it('follows a change of connection or session object for the same identity', () => {
    const s = new InputSerializer();
    const one = frozenBase();
    const other = frozenBase({ ...base(), connection: { name: 'sandbox', protocol: 'postgres', labels: { env: 'dev' } } });
    const a: PolicyInput = { ...one, command: command('SELECT 1') };
    const b: PolicyInput = { identity: one.identity, connection: other.connection, session: one.session, command: command('SELECT 1') };
    assert.equal(s.json(a), JSON.stringify(a));
    assert.equal(s.json(b), JSON.stringify(b));
    assert.equal(s.json(a), JSON.stringify(a));
  });

  it('serializes whatever a policy author passes: no identity, no command, not an object', () => {
    const s = new InputSerializer();
    for (const input of [{}, { identity: 'x' }, { ...frozenBase() }, null, 5, 'text'] as unknown as PolicyInput[]) {
      assert.equal(s.json(input), JSON.stringify(input));
    }
  });
});
