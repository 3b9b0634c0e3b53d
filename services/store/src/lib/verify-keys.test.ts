import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { trustedKeyFor } from './verify.js';

const key = () => generateKeyPairSync('ed25519').publicKey;

describe('trustedKeyFor: which trusted key checks a node\'s seal', () => {
  const gw1 = key();
  const pods = key();
  const gateways = key();
  const keys = { 'gw-1': gw1, 'chaperone-*': pods, 'chaperone-gateway-*': gateways };

  it('takes the key named exactly by the node id first', () => assert.equal(trustedKeyFor(keys, 'gw-1'), gw1));

  it('else the longest prefix pattern (`name-*`) the node id starts with', () => {
    assert.equal(trustedKeyFor(keys, 'chaperone-gateway-7d9f8c5b4-xk2p9'), gateways);
    assert.equal(trustedKeyFor(keys, 'chaperone-materializer-5c8f-q2w4'), pods);
  });

  it('trusts no other node, and `*` matches only at the end of a name', () => {
    assert.equal(trustedKeyFor(keys, 'gw-2'), undefined);
    assert.equal(trustedKeyFor(keys, 'other-gateway-1'), undefined);
    assert.equal(trustedKeyFor({ '*-gateway': pods }, 'x-gateway'), undefined);
    assert.equal(trustedKeyFor(keys, 'toString'), undefined, 'no inherited property is a key');
  });
});
