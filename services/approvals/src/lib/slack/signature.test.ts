import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SlackRequestRejectedError } from '../errors.js';
import { ReplayGuard, slackSignature, verifySlackSignature } from './signature.js';

const problem = (p: string) => (err: unknown) => err instanceof SlackRequestRejectedError && err.problem === p;

describe('Slack request signatures (v0)', () => {
  // The worked example of https://api.slack.com/authentication/verifying-requests-from-slack.
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  const body = Buffer.from(
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  );
  const documented = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

  it("matches Slack's documented example", () => {
    assert.equal(slackSignature(secret, ts, body), documented);
    verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, Number(ts) + 10);
  });

  it('refuses a wrong signature, another body, missing headers and a timestamp outside five minutes', () => {
    const now = Number(ts);
    assert.throws(() => verifySlackSignature(secret, { timestamp: ts, signature: documented.replace(/.$/, '0') }, body, now), problem('bad-signature'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: ts, signature: documented }, Buffer.concat([body, Buffer.from('&x=1')]), now), problem('bad-signature'));
    assert.throws(() => verifySlackSignature('other-secret', { timestamp: ts, signature: documented }, body, now), problem('bad-signature'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: ts, signature: 'v0=short' }, body, now), problem('bad-signature'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: undefined, signature: documented }, body, now), problem('missing-headers'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, now + 301), problem('stale-timestamp'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, now - 301), problem('stale-timestamp'));
    assert.throws(() => verifySlackSignature(secret, { timestamp: '1e9', signature: documented }, body, now), problem('stale-timestamp'));
    verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, now + 300);
  });

  it('is HMAC-SHA256 over v0:timestamp:body', () => {
    const expected = `v0=${createHmac('sha256', 's').update('v0:1:abc').digest('hex')}`;
    assert.equal(slackSignature('s', 1, 'abc'), expected);
  });

  it('the replay guard refuses a signature seen within the window and forgets it after', () => {
    const g = new ReplayGuard(3);
    g.check('a', '1000', 1000);
    assert.throws(() => g.check('a', '1000', 1100), problem('replayed'));
    g.check('a', '1000', 1301);
    for (const s of ['b', 'c', 'd', 'e']) g.check(s, '1301', 1301);
  });
});
