/**
 * Property-based fuzzing of the SPDY/3.1 codec (convention 6): any input yields frames and at
 * most one SpdyProtocolError, never a throw, and the reader's buffer stays within one frame.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SpdyProtocolError } from './errors.js';
import { controlFrame, dataFrame, SpdyWriter } from './fixtures.js';
import { SpdyFrameReader } from './frame.js';
import { SpdyHeaderDecoder, parseNameValueBlock } from './header-block.js';
import { SpdyTunnelSplitter } from '../../listeners/http/spdy.js';

const RUNS = 5_000;
const MAX = 4096;

/** Feeds `bytes` in the given pieces; checks the reader's guarantees. */
function feed(bytes: Buffer, cuts: number[]): { frames: Buffer[]; error: SpdyProtocolError | undefined } {
  const r = new SpdyFrameReader(MAX, MAX);
  const frames: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    const out = r.push(bytes.subarray(at, cut));
    at = cut;
    frames.push(...out.frames.map((f) => f.raw));
    assert.ok(r.bufferedBytes < MAX + 8, 'never more than one frame buffered');
    if (out.error) {
      assert.ok(out.error instanceof SpdyProtocolError);
      assert.equal(r.bufferedBytes, 0);
      return { frames, error: out.error };
    }
  }
  return { frames, error: undefined };
}

describe('SPDY/3.1 codec under fuzzing', () => {
  let valid: fc.Arbitrary<Buffer>;
  const w = new SpdyWriter();
  const fixed: Buffer[] = [];
  before(async () => {
    fixed.push(await w.synStream(1, [['streamtype', ['stdout']]]), await w.synReply(1), w.settings([[4, 100]]), w.ping(3), w.windowUpdate(1, 100), w.rstStream(1), w.goAway(1));
    const frame = fc.oneof(
      fc.constantFrom(...fixed),
      fc.tuple(fc.integer({ min: 1, max: 0x7fffffff }), fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 300, size: 'medium' })).map(([id, flags, d]) => dataFrame(id, flags, Buffer.from(d))),
      fc.tuple(fc.integer({ min: 10, max: 40 }), fc.uint8Array({ maxLength: 40 })).map(([type, d]) => controlFrame(type, 0, Buffer.from(d))),
    );
    valid = fc.array(frame, { maxLength: 12, size: 'medium' }).map((fs) => Buffer.concat(fs));
  });
  after(() => w.close());

  it('random bytes give frames or one error, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000, size: 'medium' }), fc.array(fc.nat(2000), { maxLength: 6 }), (b, cuts) => {
        feed(Buffer.from(b), cuts);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid frame sequences give back exactly their frames, however they are cut', () => {
    fc.assert(
      fc.property(valid, fc.array(fc.nat(4000), { maxLength: 8 }), (bytes, cuts) => {
        const out = feed(bytes, cuts);
        assert.equal(out.error, undefined);
        assert.ok(Buffer.concat(out.frames).equals(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid sequences never throw', () => {
    fc.assert(
      fc.property(valid, fc.array(fc.tuple(fc.nat(4000), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(4000), { maxLength: 4 }), (bytes, flips, cuts) => {
        const b = Buffer.from(bytes);
        for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
        feed(b, cuts);
      }),
      { numRuns: RUNS },
    );
  });

  it('name/value blocks: any bytes parse or are refused, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const r = parseNameValueBlock(Buffer.from(b), 64);
        if (!(r instanceof SpdyProtocolError)) for (const [n] of r) assert.ok(n.length > 0 && n === n.toLowerCase());
      }),
      { numRuns: RUNS },
    );
  });

  it('the tunnel splitter takes mutated conversations (header blocks included) without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(valid, fc.array(fc.tuple(fc.nat(4000), fc.nat(255)), { maxLength: 3 }), async (bytes, flips) => {
        const b = Buffer.from(bytes);
        for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
        const s = new SpdyTunnelSplitter({ maxFrameBytes: MAX, maxOpenStreams: 4 });
        const r = await s.split('CLIENT_TO_SERVER', b);
        s.close();
        if (!Array.isArray(r)) assert.ok(r instanceof SpdyProtocolError);
      }),
      { numRuns: 500 },
    );
    const d = new SpdyHeaderDecoder();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (b) => {
        const r = await d.decode(Buffer.from(b));
        assert.ok(Array.isArray(r) || r instanceof SpdyProtocolError);
      }),
      { numRuns: 200 },
    );
  });
});
