import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEventBody, encodeEventBody, encodeWithAvsc } from './codec.js';
import type { Command, Decision, Frame, SessionEvent } from './types.js';

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constant(''));
const long = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat().map((n) => Math.floor(n / 4)), fc.integer({ min: -1e6, max: 1e6 }));
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

const frameV2: fc.Arbitrary<Frame> = fc.record({
  type: fc.constant('Frame' as const),
  direction: fc.constantFrom('CLIENT_TO_SERVER' as const, 'SERVER_TO_CLIENT' as const),
  messageType: text,
  bytes,
  redacted: fc.boolean(),
  masks: fc.array(fc.record({ detector: text, location: text, count: fc.integer({ min: 0, max: 1e6 }) }), { maxLength: 4 }),
  messageTypes: fc.array(text, { maxLength: 5 }),
  offsets: fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 5 }),
});
/** v3: a frame attributed to commands (runs), or not (the fields absent, as a builder leaves them). */
const frame: fc.Arbitrary<Frame> = fc.tuple(frameV2, fc.option(fc.array(fc.tuple(long, fc.integer({ min: 0, max: 2 ** 31 - 1 })), { minLength: 1, maxLength: 3 }))).map(
  ([f, runs]) => (runs ? { ...f, commandIds: runs.map(([id]) => id), commandStarts: runs.map(([, at]) => at) } : f),
);
const command: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('Command' as const),
  commandId: long,
  protocol: text,
  action: text,
  targets: fc.array(text, { maxLength: 4 }),
  text,
  textSha256: text,
  detailsJson: text,
  params: fc.array(fc.option(text, { nil: null }), { maxLength: 4 }),
});
const decision: fc.Arbitrary<Decision> = fc.record({
  type: fc.constant('Decision' as const),
  commandId: long,
  result: fc.constantFrom('ALLOW' as const, 'DENY' as const, 'APPROVAL' as const, 'MASK' as const),
  reasons: fc.array(text, { maxLength: 4 }),
  policyRevision: text,
  evalMicros: long,
  outputJson: text,
});
const event: fc.Arbitrary<SessionEvent> = fc.record({
  sessionId: text,
  seq: long,
  tsMicros: long,
  nodeId: text,
  prevHash: bytes,
  body: fc.oneof(frame, command, decision),
});

describe('hand-written event writer', () => {
  it('writes exactly what avsc writes for Frame, Command and Decision events', () => {
    fc.assert(
      fc.property(event, (e) => {
        const mine = encodeEventBody(e);
        assert.deepEqual(mine, encodeWithAvsc(e));
        assert.deepEqual(encodeWithAvsc(decodeEventBody(mine)), mine, 'reads back as the same event');
      }),
      { numRuns: 2000 },
    );
  });

  it('writes large frames (a bulk chunk) like avsc', () => {
    const big: SessionEvent = {
      sessionId: 's', seq: 2 ** 40, tsMicros: 1_796_000_000_000_000, nodeId: 'gw-1', prevHash: Buffer.alloc(32, 9),
      body: { type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'DataRow', bytes: Buffer.alloc(700_000, 7), redacted: false, masks: [], messageTypes: new Array<string>(700).fill('DataRow'), offsets: Array.from({ length: 700 }, (_, i) => i * 1000) },
    };
    assert.deepEqual(encodeEventBody(big), encodeWithAvsc(big));
  });
});
