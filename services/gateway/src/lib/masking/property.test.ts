/**
 * Properties over random input (fast-check): masking never throws, never lets a planted secret
 * through, and a stream masks exactly like one pass whatever the chunking.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Masker, PgResultMasker, StreamMasker } from './index.js';
import { encodeDataRow, MessageReader } from '../protocols/postgres/index.js';

const masker = new Masker();
const PLANTED = [
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ['ghp_', 'R2c9V8q3XbL0mN5pK7wT1yZ4aD6fH8jS2uE0'].join(''),
  ['glpat-', 'x9Yz8Wv7Ut6Sr5Qp4On3'].join(''),
  'grace.hopper42@example.com',
  '4111111111111111',
  'DE89370400440532013000',
  ['eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join(''),
];
/** Separators that keep a planted secret a separate word (a secret glued to letters is another word). */
const SEP = fc.constantFrom(' ', '\n', '"', "'", ',', ';', '\t', ': ', '(', ')', '<', '>', '[', ']');
const noise = fc.string({ unit: fc.constantFrom(...'abcXYZ019 _-./:=@+"\'\n{}[],é東'.split('')), maxLength: 60 });
const text = fc.array(fc.tuple(noise, SEP, fc.constantFrom(...PLANTED), SEP), { maxLength: 6 }).map((parts) => parts.map(([n, a, s, b]) => `${n}${a}${s}${b}`).join(''));

describe('masking properties', () => {
  it('never throws on arbitrary bytes, and keeps unmatched bytes as they were', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const r = masker.maskBytes(buf);
        if (r.notes.length === 0) assert.equal(r.out, buf);
        masker.maskJson(buf);
      }),
      { numRuns: 3000 },
    );
  });

  it('never outputs a planted secret, in text, in DataRows and in streams', () => {
    const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 4 }), (s, rawCuts) => {
        const buf = Buffer.from(s);
        const out = masker.maskBytes(buf).out.toString();
        for (const secret of PLANTED) assert.ok(!out.includes(secret), `${secret} leaked from ${JSON.stringify(s)}: ${JSON.stringify(out)}`);

        const pg = new PgResultMasker(masker);
        const row = reader.push(encodeDataRow([s, null, s.slice(0, 10)])).messages[0]!;
        const masked = pg.mask(row).frame.toString();
        for (const secret of PLANTED) assert.ok(!masked.includes(secret), `${secret} leaked from a DataRow`);

        const cuts = rawCuts.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
        const sm = new StreamMasker(masker, { maxTokenBytes: 256 });
        const parts: Buffer[] = [];
        let pos = 0;
        for (const c of [...cuts, buf.length]) {
          parts.push(sm.push(buf.subarray(pos, c)).out);
          pos = c;
        }
        parts.push(sm.end().out);
        assert.equal(Buffer.concat(parts).toString(), out);
      }),
      { numRuns: 2000 },
    );
  });
});
