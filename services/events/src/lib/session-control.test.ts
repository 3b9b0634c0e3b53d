import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSessionControl, encodeSessionControl, type SessionControlOrder } from './session-control.js';

describe('session control orders', () => {
  it('round-trips a cancel (in the shape older nodes read) and an end-session order', () => {
    const cancel: SessionControlOrder = { kind: 'cancel', key: 'ab'.repeat(32), from: 'gw-1', at: 1 };
    assert.deepEqual(JSON.parse(encodeSessionControl(cancel)), { key: cancel.key, from: 'gw-1', at: 1 });
    assert.deepEqual(decodeSessionControl(encodeSessionControl(cancel)), cancel);
    const end: SessionControlOrder = { kind: 'end-session', sessionId: 's-1', by: 'user:adam', reason: 'leaked token', from: 'api', at: 2 };
    assert.deepEqual(decodeSessionControl(encodeSessionControl(end)), end);
  });

  it('reads nothing from malformed or unknown messages', () => {
    for (const v of ['', 'null', '[]', '{"key":1,"from":"x","at":1}', '{"kind":"end-session","sessionId":"","by":"a","reason":"","from":"x","at":1}', '{"kind":"reboot","from":"x","at":1}', '{"key":"k","at":1}'])
      assert.equal(decodeSessionControl(v), undefined, v);
  });
});
