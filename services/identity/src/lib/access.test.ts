import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AccessDeniedError, ConnectionAccess } from '../index.js';

describe('connection access', () => {
  const access = new ConnectionAccess({
    default: 'allow',
    rules: [
      { connection: 'prod', subjects: ['ci:deploy-bot'], groups: ['dba'] },
      { connection: 'prod', subjects: [], groups: ['oncall'] },
    ],
  });

  it('admits listed subjects and groups of any rule of the connection', () => {
    assert.ok(access.allows('prod', { subject: 'ci:deploy-bot', groups: [] }));
    assert.ok(access.allows('prod', { subject: 'x', groups: ['oncall'] }));
    assert.ok(access.allows('demo', { subject: 'x', groups: [] }), 'no rule: default allow');
  });

  it('refuses others with a one-line error that names the connection', () => {
    assert.throws(
      () => access.check('prod', { subject: 'agent:x', groups: ['readers'] }),
      (e: AccessDeniedError) => e.code === 'ACCESS_DENIED' && e.connection === 'prod' && /agent:x \(groups readers\) may not open connection "prod"/.test(e.message) && !e.message.includes('\n'),
    );
  });

  it('property: with default deny, only rules admit', () => {
    const closed = new ConnectionAccess({ default: 'deny', rules: [{ connection: 'a', subjects: ['s'], groups: ['g'] }] });
    fc.assert(
      fc.property(fc.constantFrom('a', 'b'), fc.string(), fc.array(fc.string(), { maxLength: 3 }), (conn, subject, groups) => {
        const want = conn === 'a' && (subject === 's' || groups.includes('g'));
        return closed.allows(conn, { subject, groups }) === want;
      }),
    );
  });
});
