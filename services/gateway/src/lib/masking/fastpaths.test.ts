/**
 * The detectors' shortcuts against the straightforward code they stand for, on random input
 * (fast-check): a prefilter may let through what the full check then rejects, never the reverse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mayHaveHint, TOKEN_HINT } from './secrets.js';

/** Token bytes, weighted towards the letters that start TOKEN_HINT's alternatives. */
const TOKEN_CHARS = 'AKISBCT3zcy29.ghpousr_itldfaGR1xQ~eJkwhnm-+/=0Z'.split('');
const HINT_PARTS = ['AKIA', 'ASIA', 'A3T', 'AIza', 'AccountKey=', 'SharedAccessKey=', 'ya29.', 'ghp_', 'github_pat_', 'glpat-', 'gldt-', 'glagent-', 'GR1348941', 'xoxb-', 'xapp-', 'hooks.slack', 'Q~', 'eyJ', 'k_live_', 'whsec_', 'npm_', 'sk-'];
const token = fc
  .array(fc.oneof(fc.constantFrom(...TOKEN_CHARS), fc.constantFrom(...HINT_PARTS).map((h) => h.slice(0, 1 + (h.length >> 1))), fc.constantFrom(...HINT_PARTS)), { minLength: 1, maxLength: 30 })
  .map((parts) => parts.join(''))
  .filter((t) => t.length >= 2);

describe('masking fast paths', () => {
  it('mayHaveHint: never says no when TOKEN_HINT matches', () => {
    fc.assert(
      fc.property(token, fc.nat(4), (t, pad) => {
        // The token sits inside other bytes: the screen must read only [start, end).
        const buf = Buffer.from(`${'Q~AKIA'.slice(0, pad)} ${t}\n${'sk-'.slice(0, pad)}`, 'latin1');
        const start = pad + 1;
        if (TOKEN_HINT.test(t)) assert.ok(mayHaveHint(buf, start, start + t.length), `missed the hint in ${JSON.stringify(t)}`);
      }),
      { numRuns: 20000 },
    );
  });
});
