import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DETECTORS, Masker, MaskRulesError, SECRET_DETECTOR_IDS } from './index.js';
import { keyClass } from './secrets.js';

const masker = new Masker();

/** The detectors that fired on `text`, with the masked text. */
function run(text: string, m = masker): { text: string; found: string[] } {
  const r = m.maskText(text);
  return { text: r.text, found: r.notes.map((n) => n.detector) };
}

function masks(detector: string, text: string, secret: string): void {
  const r = run(text);
  assert.ok(r.found.includes(detector), `${detector} should fire on ${JSON.stringify(text)}; got ${JSON.stringify(r)}`);
  assert.ok(!r.text.includes(secret), `${JSON.stringify(secret)} is still in ${JSON.stringify(r.text)}`);
  assert.ok(r.text.includes(`[MASKED:${detector}]`), r.text);
}

function clean(text: string): void {
  const r = run(text);
  assert.deepEqual(r.found, [], `nothing should fire on ${JSON.stringify(text)}; got ${JSON.stringify(r)}`);
  assert.equal(r.text, text);
}

// Fixtures are split so that this file itself does not look like it leaks credentials.
const j = (...parts: string[]) => parts.join('');

describe('secret detectors', () => {
  it('AWS access key ids and secret keys, including the documentation examples', () => {
    masks('aws-access-key-id', 'id=AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE');
    masks('aws-access-key-id', j('"AccessKeyId": "ASIA', 'Y34FZKBOKMUTVV7A"'), j('ASIA', 'Y34FZKBOKMUTVV7A'));
    masks('aws-secret-access-key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    masks('aws-secret-access-key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI');
    clean('AKIAIOSFODNN7EXAMPL'); // 19 characters
    clean('XAKIAIOSFODNN7EXAMPLEX');
  });

  it('Google Cloud keys and tokens, Azure keys and client secrets', () => {
    masks('gcp-api-key', j('key=AIza', 'SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'), j('SyD-9tSrke72PouQMnMX'));
    masks('gcp-oauth-token', j('Bearer ya29.', 'a0AfH6SMBx7Jc1Pz0d3mQk9vXe2'), 'a0AfH6SMBx7Jc1Pz0d3mQk9vXe2');
    const accountKey = `${'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq'}/K1SZFPTOtr/KBHBeksoGMGw==`;
    masks('azure-storage-key', `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${accountKey};EndpointSuffix=core.windows.net`, accountKey.slice(0, 30));
    masks('azure-client-secret', j('value abc8Q~', 'Zk5pT3.l0lUnUx7xfcVr2Q5VzZ0kYx1w2z'), 'Zk5pT3.l0lUnUx7xfcVr2Q5VzZ0kYx1w2z');
  });

  it('GitHub, GitLab, Slack, Stripe, npm and AI API tokens', () => {
    masks('github-token', j('token ghp_', 'R2c9V8q3XbL0mN5pK7wT1yZ4aD6fH8jS2uE0'), 'R2c9V8q3XbL0mN5pK7wT1yZ4aD6fH8jS2uE0');
    masks('github-token', j('github_pat_', '11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg'), 'defghijklmnop');
    masks('gitlab-token', j('PRIVATE-TOKEN: glpat-', 'x9Yz8Wv7Ut6Sr5Qp4On3'), 'x9Yz8Wv7Ut6Sr5Qp4On3');
    masks('slack-token', j('xoxb-', '2345678901-2345678901234-AbCdEfGhIjKlMnOpQrStUvWx'), 'AbCdEfGhIjKlMnOpQrStUvWx');
    masks('slack-token', j('https://hooks.slack.com/services/', 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'), 'XXXXXXXXXXXXXXXXXXXXXXXX');
    masks('stripe-key', j('sk_live_', '4eC39HqLyjWDarjtT1zdp7dc'), '4eC39HqLyjWDarjtT1zdp7dc');
    masks('stripe-key', j('whsec_', '0123456789abcdef0123456789abcdef'), '0123456789abcdef0123456789abcdef');
    masks('npm-token', j('//registry.npmjs.org/:_authToken=npm_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'), 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8');
    masks('ai-api-key', j('OPENAI_API_KEY=sk-proj-', 'abcdefghij0123456789ABCD', 'T3BlbkFJ', 'zyxwvutsrq9876543210WXYZ'), 'zyxwvutsrq9876543210');
  });

  it('private key blocks: PEM, OpenSSH, JSON-escaped, and truncated', () => {
    const pem = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH', 'lWu2/a1gB9JW5TBQ+AVpum9Okx7KfqkfBKL9mcHgSL0yWMdjMfNOqNtrQqKlN4kE', '-----END RSA PRIVATE KEY-----'].join('\n');
    masks('private-key', `key:\n${pem}\nafter`, 'MIIEpAIBAAKCAQEA1c7');
    assert.equal(run(`key:\n${pem}\nafter`).text, 'key:\n[MASKED:private-key]\nafter');
    masks('private-key', JSON.stringify({ private_key: `${pem.replace('RSA ', '')}\n`, client_email: 'x' }), 'MIIEpAIBAAKCAQEA1c7');
    masks('private-key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'b3BlbnNzaC1rZXktdjEA');
    masks('private-key', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0aXN0YWxsAQgA\n-----END PGP PRIVATE KEY BLOCK-----', 'lQOYBF0aXN0YWxsAQgA');
    clean('-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----');
    clean('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----');
  });

  it('JWTs', () => {
    const jwt = j('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ', '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c');
    masks('jwt', `Authorization: Bearer ${jwt}`, 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c');
    clean('eyJust a word.eyJump.x');
  });

  it('passwords in URLs and connection strings', () => {
    masks('url-password', 'DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/app', 's3cr3t-Pa55');
    assert.equal(run('redis://:hunter2hunter2@cache:6379/0').text, 'redis://:[MASKED:url-password]@cache:6379/0');
    assert.equal(run('mongodb+srv://admin:p%40ss@cluster0.example.net/db').text, 'mongodb+srv://admin:[MASKED:url-password]@cluster0.example.net/db');
    clean('see https://example.com/a:b and https://example.com/path@v2 has no password');
  });

  it('generic secret assignments, by key name, in env, YAML, JSON and connection strings', () => {
    assert.equal(run('DB_PASSWORD=hunter2 PGPASSWORD="x y z"').text, 'DB_PASSWORD=[MASKED:secret-assignment] PGPASSWORD="[MASKED:secret-assignment]"');
    assert.equal(run('{"password": "hunter2", "token_type": "Bearer", "apiKey": "Zx9k2LmQ8pR4tV7w"}').text, '{"password": "[MASKED:secret-assignment]", "token_type": "Bearer", "apiKey": "[MASKED:secret-assignment]"}');
    assert.equal(run("client_secret: 'c9f1e2d3b4a5968778695a4b3c2d1e0f'").text, "client_secret: '[MASKED:secret-assignment]'");
    assert.equal(run('Server=db;User Id=sa;Password=Str0ng!Pass;Database=x').text, 'Server=db;User Id=sa;Password=[MASKED:secret-assignment];Database=x');
    // Low-entropy or placeholder values of token-like keys, cursors and non-secret keys stay.
    clean('{"token": "abc", "secret": null, "password": "${DB_PASSWORD}", "next_page_token": "CiAKGjBpNDd2Nmp2Zml2cXRsb2J", "monkey": "Zx9k2LmQ8pR4tV7wQ"}');
    clean('password_hint=ask-admin if a == b: key = value; x != y');
    assert.equal(keyClass('aws_secret_access_key'), 'secret');
    assert.equal(keyClass('clientSecret'), 'secret');
    assert.equal(keyClass('PGPASSWORD'), 'password');
    assert.equal(keyClass('bypass'), undefined);
    assert.equal(keyClass('primary_key'), undefined);
    assert.equal(keyClass('id_token'), 'secret');
  });

  it('leaves UUIDs, git SHAs, hashes, base64 words and ordinary prose alone', () => {
    clean('commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main) by 123e4567-e89b-12d3-a456-426614174000');
    clean('sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 and 3F786850E387550FDAB836ED7E6DC881DE23001B');
    clean('The quick brown fox jumps over the lazy dog; SELECT id, name FROM customers WHERE id = 42;');
    clean('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn'); // 40 chars, low entropy
  });
});

describe('PII detectors', () => {
  it('e-mail addresses', () => {
    masks('email', 'contact: ada.lovelace1@example.com.', 'ada.lovelace1@example.com');
    assert.equal(run('<a href="mailto:x.y+tag@mail.example.org">').text, '<a href="mailto:[MASKED:email]">');
    clean('user@localhost, @mention, foo@.com, a@b.c, git@github');
  });

  it('card numbers need an issuer prefix and a valid Luhn check digit', () => {
    masks('card-number', 'visa 4111 1111 1111 1111 ok', '4111 1111 1111 1111');
    masks('card-number', 'mc 5555-5555-5555-4444', '5555-5555-5555-4444');
    masks('card-number', 'amex 378282246310005', '378282246310005');
    clean('visa 4111 1111 1111 1112 (bad check digit)');
    clean('epoch ms 1700000000000 and order 9111111111111111 (no card starts with 9)');
    clean('mixed 4111 1111-1111 1111');
  });

  it('IBANs need the country length and a valid mod-97 check', () => {
    masks('iban', 'pay to DE89 3704 0044 0532 0130 00 today', 'DE89 3704 0044 0532 0130 00');
    masks('iban', 'GB82WEST12345698765432', 'GB82WEST12345698765432');
    masks('iban', 'iban: NL91ABNA0417164300.', 'NL91ABNA0417164300');
    clean('DE89 3704 0044 0532 0130 01'); // wrong check digits
    clean('ZZ89370400440532013000'); // no such country
  });

  it('phone numbers: international with +, North American formats', () => {
    masks('phone-number', 'call +1-555-7919 now', '+1-555-7919');
    masks('phone-number', 'tel +44 20 7946 0958', '+44 20 7946 0958');
    masks('phone-number', '(555) 123-4567', '(555) 123-4567');
    masks('phone-number', 'fax 555.123.4567', '555.123.4567');
    clean('on 2024-03-01 12:34:56 order 12345678 cost 1234.56, version 1.2.3.4');
  });
});

describe('Masker rules', () => {
  it('lists its detectors with kinds; secrets are a fixed set', () => {
    assert.ok(DETECTORS.length >= 20);
    for (const id of SECRET_DETECTOR_IDS) assert.equal(DETECTORS.find((d) => d.id === id)?.kind, 'secret');
    assert.deepEqual(DETECTORS.filter((d) => d.kind === 'pii').map((d) => d.id).sort(), ['card-number', 'email', 'iban', 'national-id', 'phone-number']);
  });

  it('runs only the enabled detectors and refuses unknown ones', () => {
    const onlyEmail = new Masker({ detectors: ['email'] });
    assert.deepEqual(run('a@example.com AKIAIOSFODNN7EXAMPLE', onlyEmail).found, ['email']);
    assert.throws(() => new Masker({ detectors: ['email', 'ssn'] }), (e: unknown) => e instanceof MaskRulesError && /unknown detector ssn/.test(e.message));
    assert.throws(() => new Masker({ jsonPaths: ['users.ssn'] }), MaskRulesError);
  });

  it('merges overlapping finds into one marker and returns the input untouched when clean', () => {
    const buf = Buffer.from('nothing to see here, move along');
    assert.equal(masker.maskBytes(buf).out, buf);
    const r = run('password=AKIAIOSFODNN7EXAMPLE');
    assert.equal(r.text, 'password=[MASKED:aws-access-key-id]');
  });

  it('keeps multibyte text intact around markers', () => {
    assert.equal(run('Grüße an jürgen.müller@example.com — 東京 ada@例え.example.jp ✓').text, 'Grüße an [MASKED:email] — 東京 [MASKED:email] ✓');
  });
});

describe('the kinds issue #17 found reaching agents in clear', () => {
  const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const rnd = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789') => Array.from({ length: n }, (_, i) => alphabet[(i * 7919 + n * 31) % alphabet.length]).join('');
  const hex = (n: number) => rnd(n, '0123456789abcdef');

  it('AI provider keys', () => {
    masks('ai-api-key', `ANTHROPIC_API_KEY ${j('sk-ant-api03-', rnd(93), 'AA')}`, rnd(93));
    masks('ai-api-key', j('key: sk-proj-', rnd(74), 'T3BlbkFJ', rnd(74)), rnd(74));
    masks('ai-api-key', j('groq gsk_', rnd(52)), rnd(52));
    masks('ai-api-key', j('hf token hf_', rnd(34, 'abcdefghijklmnopqrstuvwxyzABCDEFGH')), rnd(34, 'abcdefghijklmnopqrstuvwxyzABCDEFGH'));
    masks('ai-api-key', j('xai-', rnd(80)), rnd(80));
  });

  it('package registry tokens', () => {
    masks('package-registry-token', j('password = pypi-AgEIcHlwaS5vcmc', rnd(70)), rnd(70));
    masks('package-registry-token', j('GEM_HOST_API_KEY: rubygems_', hex(48)), hex(48));
    masks('package-registry-token', j('dckr_pat_', rnd(27)), rnd(27));
    masks('npm-token', j('npm_', rnd(36)), rnd(36));
  });

  it('e-mail delivery keys', () => {
    masks('email-delivery-key', j('SG.', rnd(22), '.', rnd(43)), rnd(43));
    masks('email-delivery-key', j('mailgun key-', hex(32)), hex(32));
    masks('email-delivery-key', j('mailchimp ', hex(32), '-us21'), hex(32));
    masks('email-delivery-key', j('brevo xkeysib-', hex(64), '-', rnd(16)), hex(64));
  });

  it('secret manager tokens', () => {
    masks('secret-manager-token', j('VAULT_TOKEN=hvs.', rnd(95)), rnd(95));
    masks('secret-manager-token', j('DOPPLER_TOKEN=dp.st.prd.', rnd(43)).replace('prd.', ''), rnd(43));
    masks('secret-manager-token', j('ops_eyJ', rnd(200, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'), 'fQ=='), rnd(200, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/').slice(0, 60));
  });

  it('JWTs: HS256 and EdDSA, large claims, a header with spaces, unsigned, in a query string', () => {
    const sig = rnd(86, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
    const big = `${b64u({ alg: 'EdDSA', typ: 'JWT', kid: rnd(43) })}.${b64u({ sub: 'agent:x', groups: Array.from({ length: 60 }, (_, i) => `group-${i}`), exp: 1 })}.${sig}`;
    masks('jwt', `token=${big}&x=1`, sig);
    masks('jwt', `"${Buffer.from('{ "alg": "HS256" }').toString('base64url')}.${b64u({ sub: '1' })}.${sig}"`, sig);
    const unsigned = `${b64u({ alg: 'none' })}.${b64u({ sub: 'agent:y', iat: 1 })}.`;
    masks('jwt', `Bearer ${unsigned}`, unsigned);
  });

  it('national identity numbers, with their check digits', () => {
    masks('national-id', 'ssn: 078-05-1120', '078-05-1120');
    masks('national-id', 'SIN 130 692 544', '130 692 544');
    masks('national-id', 'NIR 1 85 05 78 006 084 91', '1 85 05 78 006 084 91');
    masks('national-id', 'DNI 12345678Z', '12345678Z');
    masks('national-id', 'CPF 111.444.777-35', '111.444.777-35');
    masks('national-id', 'aadhaar 2345 6789 0124', '2345 6789 0124');
    clean('SSN-like 000-12-3456 and 666-12-3456; DNI 12345678A; CPF 111.444.777-36');
  });
});
