import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { PgProtocolError, type PgProtocolErrorCode } from './errors.js';
import { saslprep } from './saslprep.js';
import { ScramClient, md5Password } from './scram.js';

/** RFC 7677 §3 example exchange for SCRAM-SHA-256 (user 'user', password 'pencil'). */
const RFC7677 = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const rfcClient = () => new ScramClient('user', 'pencil', { nonce: RFC7677.clientNonce, sendUsername: true });

function throwsCode(fn: () => unknown, code: PgProtocolErrorCode): void {
  assert.throws(fn, (err) => err instanceof PgProtocolError && err.code === code);
}

describe('ScramClient', () => {
  it('reproduces the RFC 7677 test vector', () => {
    const c = rfcClient();
    assert.equal(c.clientFirstMessage(), RFC7677.clientFirst);
    assert.equal(c.handleServerFirst(RFC7677.serverFirst), RFC7677.clientFinal);
    c.verifyServerFinal(RFC7677.serverFinal);
  });

  it('reproduces it with PBKDF2 off the event loop too', async () => {
    const c = rfcClient();
    c.clientFirstMessage();
    assert.equal(await c.handleServerFirstAsync(RFC7677.serverFirst), RFC7677.clientFinal);
    c.verifyServerFinal(RFC7677.serverFinal);
  });

  it('sends an empty username and a fresh 24-character nonce by default, like libpq', () => {
    const a = new ScramClient('alice', 'pw').clientFirstMessage();
    const b = new ScramClient('alice', 'pw').clientFirstMessage();
    assert.match(a, /^n,,n=,r=[A-Za-z0-9+/]{24}$/);
    assert.notEqual(a, b);
  });

  it('escapes = and , in a sent username (RFC 5802 saslname)', () => {
    assert.equal(new ScramClient('a=b,c', 'pw', { nonce: 'x', sendUsername: true }).clientFirstMessage(), 'n,,n=a=3Db=2Cc,r=x');
  });

  it('rejects a wrong server signature and server errors', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    c.handleServerFirst(RFC7677.serverFirst);
    throwsCode(() => c.verifyServerFinal('v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), 'AUTH_FAILED');
    const d = rfcClient();
    d.clientFirstMessage();
    d.handleServerFirst(RFC7677.serverFirst);
    throwsCode(() => d.verifyServerFinal('e=invalid-proof'), 'AUTH_FAILED');
    const e = rfcClient();
    e.clientFirstMessage();
    e.handleServerFirst(RFC7677.serverFirst);
    throwsCode(() => e.verifyServerFinal('v=c2hvcnQ='), 'AUTH_FAILED');
  });

  it('rejects a server nonce that does not extend ours', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    throwsCode(() => c.handleServerFirst('r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), 'AUTH_FAILED');
    const d = rfcClient();
    d.clientFirstMessage();
    throwsCode(() => d.handleServerFirst(`r=${RFC7677.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`), 'AUTH_FAILED');
  });

  it('rejects malformed server-first messages and excessive iteration counts', () => {
    const bad = [
      '',
      'garbage',
      `r=${RFC7677.clientNonce}x,s=***,i=4096`,
      `r=${RFC7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`,
      `r=${RFC7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1e3`,
      `r=${RFC7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==`,
      `m=ext,r=${RFC7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
    ];
    for (const msg of bad) {
      const c = rfcClient();
      c.clientFirstMessage();
      throwsCode(() => c.handleServerFirst(msg), 'MALFORMED');
    }
    const c = new ScramClient('u', 'p', { nonce: 'abc', maxIterations: 10_000 });
    c.clientFirstMessage();
    throwsCode(() => c.handleServerFirst('r=abcd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10001'), 'AUTH_FAILED');
  });

  it('refuses steps out of order', () => {
    throwsCode(() => rfcClient().handleServerFirst(RFC7677.serverFirst), 'UNEXPECTED_MESSAGE');
    throwsCode(() => rfcClient().verifyServerFinal(RFC7677.serverFinal), 'UNEXPECTED_MESSAGE');
    const c = rfcClient();
    c.clientFirstMessage();
    throwsCode(() => c.clientFirstMessage(), 'UNEXPECTED_MESSAGE');
  });
});

describe('md5Password', () => {
  it("hashes like PostgreSQL: 'md5' + md5(md5(password + user) + salt)", () => {
    // pg_authid.rolpassword for role postgres with password postgres under password_encryption=md5.
    const stored = 'md53175bce1d3201d16594cebf9d7eb3f9d';
    const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    const expected = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(stored.slice(3)), salt])).digest('hex');
    assert.equal(md5Password('postgres', 'postgres', salt), expected);
    assert.match(expected, /^md5[0-9a-f]{32}$/);
  });
});

describe('saslprep (RFC 4013 §3 examples)', () => {
  it('maps and normalizes', () => {
    assert.equal(saslprep('I\u00ADX'), 'IX'); // soft hyphen mapped to nothing
    assert.equal(saslprep('user'), 'user');
    assert.equal(saslprep('USER'), 'USER');
    assert.equal(saslprep('\u00AA'), 'a'); // NFKC
    assert.equal(saslprep('\u2168'), 'IX'); // NFKC
    assert.equal(saslprep('a\u00A0b'), 'a b'); // non-ASCII space
  });

  it('falls back to the raw password where PostgreSQL would (prohibited output)', () => {
    assert.equal(saslprep('\u00E9\u0007'), '\u00E9\u0007');
    assert.equal(saslprep('p\u00E9\uE000'), 'p\u00E9\uE000');
    assert.equal(saslprep('ascii\u0007only'), 'ascii\u0007only'); // pure ASCII is used as is
  });
});
