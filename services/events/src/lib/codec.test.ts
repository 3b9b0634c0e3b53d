import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deepEqual as looseDeepEqual } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { decodeEvent, encodeEvent, splitSingleObject } from './codec.js';
import { SessionChain, ZERO_HASH, chainHash, signSeal, verifySeal } from './chain.js';
import { rabinFingerprint } from './fingerprint.js';
import { EventDecodeError } from './errors.js';

describe('events codec', () => {
  it('computes the CRC-64-AVRO fingerprint of the spec examples', () => {
    // Known values: fingerprint of "int" and "string" parsing canonical forms (Avro Java test vectors).
    assert.equal(rabinFingerprint('"int"').readBigInt64LE(), 8247732601305521295n);
    assert.equal(rabinFingerprint('"string"').readBigInt64LE(), -8142146995180207161n);
  });

  it('round-trips every event type through single-object encoding', () => {
    const chain = new SessionChain('s-1', 'gw-1');
    const bodies = [
      { type: 'SessionStarted', identity: { subject: 'agent:x', issuer: 'chaperone', groups: ['agents'], tokenId: 't', claimsJson: '{}' }, connection: 'demo', protocol: 'postgres', clientAddress: '127.0.0.1:5555', tls: true, attributesJson: '{}' },
      { type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: 'Query', bytes: Buffer.from('Q\0\0\0\rselect 1\0'), redacted: false, masks: [{ detector: 'email', location: 'col:email', count: 2 }] },
      { type: 'Command', commandId: 1, protocol: 'postgres', action: 'SELECT', targets: ['t'], text: 'select 1', textSha256: 'ab', detailsJson: '{}', params: [null, 'x'] },
      { type: 'Decision', commandId: 1, result: 'DENY', reasons: ['no'], policyRevision: 'r1', evalMicros: 12, outputJson: '{}' },
      { type: 'ApprovalRequested', commandId: 1, approvalId: 'a', bindingSha256: 'b', approverGroups: ['g'], quorum: 1, ttlMs: 1000 },
      { type: 'ApprovalResolved', commandId: 1, approvalId: 'a', outcome: 'APPROVED', approvers: ['u'], reason: '' },
      { type: 'SessionEnded', reason: 'client-terminate', error: '', counters: { framesIn: 1, framesOut: 2, bytesIn: 3, bytesOut: 4, commands: 1, denied: 0 }, finalHash: ZERO_HASH, signature: Buffer.alloc(64), sealedBy: 'gw-1', complete: true },
    ] as const;
    for (const b of bodies) {
      const { event, body, hash } = chain.append({ ...b } as never);
      const msg = encodeEvent(event);
      assert.deepEqual(splitSingleObject(msg).body, body);
      const back = decodeEvent(msg).event;
      // avsc decodes records as instances of generated classes; compare the fields.
      looseDeepEqual(back, event);
      assert.deepEqual(chainHash(event.prevHash, body), hash);
    }
    assert.equal(chain.seq, bodies.length);
  });

  it('rejects bad magic and unknown fingerprints with typed errors', () => {
    assert.throws(() => decodeEvent(Buffer.from('hello world!')), (e: unknown) => e instanceof EventDecodeError && e.code === 'BAD_MAGIC');
    const bad = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from([0])]);
    assert.throws(() => decodeEvent(bad), (e: unknown) => e instanceof EventDecodeError && e.code === 'UNKNOWN_SCHEMA');
  });

  it('signs and verifies seals', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const h = chainHash(ZERO_HASH, Buffer.from('x'));
    const sig = signSeal(privateKey, 's', 3, h);
    assert.ok(verifySeal(publicKey, 's', 3, h, sig));
    assert.ok(!verifySeal(publicKey, 's', 4, h, sig));
    assert.ok(!verifySeal(publicKey, 's', 3, ZERO_HASH, sig));
  });
});
