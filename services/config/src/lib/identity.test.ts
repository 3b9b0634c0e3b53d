import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './errors.js';
import { accessSchema, compileAccess, compileIdentity, compileLogin, compileRetention, identitySchema, loginSchema, retentionSchema } from './identity.js';

const path = (p: string) => `/etc/chaperone/${p}`;
const identity = (over: object) => compileIdentity(identitySchema.parse({ signingKeyFile: 'k.pem', ...over }), path);
const gh = { issuer: 'https://token.actions.githubusercontent.com', jwksUrl: 'https://token.actions.githubusercontent.com/.well-known/jwks', audiences: ['chaperone'] };

describe('identity, access, login and retention config', () => {
  it('fills the documented defaults', () => {
    const c = identity({});
    assert.deepEqual([c.clockSkewMs, c.maxTokenBytes, c.sessionGraceMs, c.trustedIssuers], [30_000, 8192, 0, []]);
    const t = identity({ trustedIssuers: [{ ...gh, subject: 'repo:{repository}:ref:{ref}' }] }).trustedIssuers[0]!;
    assert.deepEqual([t.algorithms, t.maxTtlMs, t.jwksCooldownMs, t.jwksCacheMaxAgeMs], [['RS256', 'ES256'], 86_400_000, 30_000, 600_000]);
    assert.deepEqual(identity({ trustedIssuers: [{ ...gh, jwksUrl: undefined, jwksFile: 'jwks.json' }] }).trustedIssuers[0]!.jwks, { file: '/etc/chaperone/jwks.json' });
  });

  it('refuses what cannot work', () => {
    assert.throws(() => identity({ trustedIssuers: [gh, gh] }), (e: ConfigError) => /listed twice/.test(e.message));
    assert.throws(() => identity({ trustedIssuers: [{ ...gh, issuer: 'chaperone' }] }), /listed twice/);
    assert.throws(() => identity({ trustedIssuers: [{ ...gh, subject: 'repo:{repository' }] }), /unbalanced/);
    assert.throws(() => identitySchema.parse({ signingKeyFile: 'k', trustedIssuers: [{ ...gh, jwksFile: 'x' }] }), /exactly one of jwksUrl or jwksFile/);
    assert.throws(() => identitySchema.parse({ signingKeyFile: 'k', trustedIssuers: [{ ...gh, algorithms: ['HS256'] }] }));
    assert.throws(() => compileAccess(accessSchema.parse({ rules: [{ connection: 'nope', groups: ['g'] }] }), ['demo']), /no connection named "nope"/);
    assert.throws(() => compileRetention(retentionSchema.parse({ events: '1h' })), /at least 1d/);
  });

  it('compiles retention to days and login to a trusted issuer of the API', () => {
    assert.deepEqual(compileRetention(retentionSchema.parse({ events: '30d', commands: 0 })), { eventsDays: 30, commandsDays: 0, sessionsDays: 365 });
    const login = compileLogin(loginSchema.parse({ issuer: 'http://127.0.0.1:18950/', clientId: 'chaperone-cli' }))!;
    assert.equal(login.issuer, 'http://127.0.0.1:18950');
    assert.deepEqual([login.trusted.jwks, login.trusted.audiences, login.trusted.subject, login.trusted.groupsClaim], [{ url: 'http://127.0.0.1:18950/jwks' }, ['chaperone-cli'], 'user:{sub}', 'groups']);
  });
});
