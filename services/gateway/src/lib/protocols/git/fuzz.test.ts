/**
 * Property-based fuzzing (convention 6): random and mutated push bodies, packs and fetch
 * responses may only ever yield GitProtocolError values, never a crash, a hang or unbounded
 * buffering.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { FetchResponseReader, ancestryRequest, describeUpdates } from './ancestry.js';
import { GitProtocolError } from './errors.js';
import { GitFixture, ZERO } from './fixtures.js';
import { PackCommitScanner } from './pack.js';
import { PktLineReader } from './pktline.js';
import { ReceivePackParser } from './receive-pack.js';

const RUNS = 2_000;
const MAX_SCAN = 64 * 1024;

function chunked(stream: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((c) => Math.floor(c * stream.length)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    out.push(stream.subarray(prev, p));
    prev = p;
  }
  return out;
}

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'set'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(b: Buffer, ms: Mutation[]): Buffer {
  let out = Buffer.from(b);
  for (const m of ms) {
    const at = Math.min(out.length, Math.floor(m.at * out.length));
    if (m.kind === 'flip' && at < out.length) out[at]! ^= 1 << m.bit;
    else if (m.kind === 'set' && at < out.length) out[at] = m.value;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
  }
  return out;
}

function feedPush(chunks: Buffer[]): void {
  const p = new ReceivePackParser({ maxScanBytes: MAX_SCAN, maxCommandBytes: 16 * 1024, maxCommits: 1000 });
  for (const c of chunks) if (p.push(c)) break;
  const req = p.end();
  if (req.error) assert.ok(req.error instanceof GitProtocolError);
  if (req.pack?.error) assert.ok(req.pack.error instanceof GitProtocolError);
  if (!req.error) describeUpdates(req);
}

describe('git parsers under fuzzing', () => {
  const g = new GitFixture();
  let bodies: Buffer[] = [];
  let fetchResponse: Buffer;
  before(() => {
    const c1 = g.commit();
    const c2 = g.commit('second', 'x'.repeat(500));
    const c3 = g.commit();
    bodies = [g.pushBody([[c1, c3, 'refs/heads/main']], g.pack(c3, [c1])), g.pushBody([[ZERO, c2, 'refs/heads/new'], [c1, ZERO, 'refs/heads/gone']], g.pack(c2, []))];
    fetchResponse = g.uploadPackV2(ancestryRequest(c3, c1, false));
  });
  after(() => g.remove());

  it('random bytes into the push parser', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (bytes, cuts) => feedPush(chunked(Buffer.from(bytes), cuts))),
      { numRuns: RUNS },
    );
  });

  it('mutated real push bodies, arbitrarily chunked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bodies.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (i, ms, cuts) =>
        feedPush(chunked(mutate(bodies[i]!, ms), cuts)),
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated packs never buffer beyond the scan limit', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (ms, cuts) => {
        const body = bodies[0]!;
        const pack = body.subarray(body.indexOf('PACK'));
        const s = new PackCommitScanner({ maxScanBytes: MAX_SCAN, maxCommits: 100 });
        for (const c of chunked(mutate(pack, ms), cuts)) if (s.push(c)) break;
        const scan = s.end();
        if (scan.error) assert.ok(scan.error instanceof GitProtocolError);
      }),
      { numRuns: RUNS },
    );
  });

  it('random pkt-line streams', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('0000', '0001', '0002', '0004', 'ffff', '000a'), fc.string({ maxLength: 12 })), { maxLength: 30 }), (parts) => {
        const r = new PktLineReader();
        const { error } = r.push(Buffer.from(parts.join('')));
        if (error) assert.ok(error instanceof GitProtocolError);
        assert.ok(r.bufferedBytes <= 65520 + 4);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated fetch responses', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const r = new FetchResponseReader(MAX_SCAN);
        r.push(mutate(fetchResponse, ms));
        const v = r.isAncestor('a'.repeat(40), 'b'.repeat(40));
        assert.ok(v === null || typeof v === 'boolean');
      }),
      { numRuns: RUNS },
    );
  });
});
