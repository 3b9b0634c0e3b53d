/**
 * The masking corpus (corpus.ts) through every place masking runs: random, format-valid values of
 * every rule of the adopted rule set (secretlint's recommended preset), of our own rules and of
 * each PII kind must not survive in PostgreSQL DataRows, streamed HTTP JSON bodies or plain
 * streamed text, however the stream is cut; look-alikes (digests, UUIDs, base64 of words) pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeDataRow, encodeDataRow, encodeRowDescription, MessageReader } from '../protocols/postgres/index.js';
import { lookalikes, maskingCorpus, type CorpusValue } from './corpus.js';
import { BodyMasker, Masker, PgResultMasker, StreamMasker } from './index.js';
import { ruleShape } from './rule-starts.js';
import { secretlintPatterns } from './secretlint.js';
import { SECRETLINT_COVERED, TOKEN_RULES } from './tokens.js';

const masker = new Masker();
const corpus = maskingCorpus({ seed: Number(process.env.MASKING_CORPUS_SEED ?? 17) });
const reader = new MessageReader({ maxMessageBytes: 1 << 22 });

function leaks(out: string, values: readonly CorpusValue[]): string[] {
  return values.filter((v) => out.includes(v.secret)).map((v) => `${v.kind}: ${JSON.stringify(v.value).slice(0, 120)}`);
}

/** Streams `input` through a fresh masker, cut at `cuts`. */
function streamed(input: Buffer, cuts: number[], make: () => { push(b: Buffer): { out: Buffer }; end(): { out: Buffer } }): string {
  const s = make();
  const parts: Buffer[] = [];
  let pos = 0;
  for (const c of [...cuts, input.length]) {
    parts.push(s.push(input.subarray(pos, c)).out);
    pos = c;
  }
  parts.push(s.end().out);
  return Buffer.concat(parts).toString('utf8');
}

const every = (n: number, len: number) => Array.from({ length: Math.floor(len / n) }, (_, i) => (i + 1) * n);

describe('masking corpus', () => {
  it('holds values for every token rule, and every preset pattern is compiled or covered by a pass', () => {
    const kinds = new Set(corpus.map((v) => v.kind));
    for (const r of TOKEN_RULES) assert.ok(kinds.has(`token:${r.source}/${r.id}`), `no corpus value for ${r.source} ${r.re.source}`);
    const patterns = secretlintPatterns();
    assert.ok(patterns.length >= 30, `the preset gave ${patterns.length} patterns`);
    for (const p of patterns) {
      const compiled = TOKEN_RULES.some((r) => r.source === `secretlint:${p.rule}` && r.re.source === p.re.source);
      assert.ok(compiled || (p.rule in SECRETLINT_COVERED && !ruleShape(p.re)?.token), `secretlint ${p.rule} /${p.re.source}/ is neither compiled nor covered`);
    }
    for (const kind of ['pii:email', 'pii:card:visa', 'pii:iban:DE', 'pii:phone:nanp', 'pii:national-id:us-ssn', 'secretlint:basicauth']) assert.ok(kinds.has(kind), kind);
  });

  it('PostgreSQL DataRows: no value survives, alone in a column or inside text', () => {
    const pg = new PgResultMasker(masker);
    pg.onRowDescription(encodeRowDescription([{ name: 'id' }, { name: 'value' }, { name: 'note' }]).subarray(5));
    const bad: string[] = [];
    for (const v of corpus) {
      const m = reader.push(encodeDataRow(['1', v.value, `seen ${v.value}; ok`])).messages[0]!;
      const out = decodeDataRow(pg.maskDataRow(m.frame, m.payload).frame.subarray(5))
        .map((x) => x?.toString('utf8') ?? '')
        .join('\n');
      bad.push(...leaks(out, [v]));
    }
    assert.deepEqual(bad, []);
  });

  it('HTTP JSON bodies: no value survives, streamed in small and large chunks', () => {
    const body = Buffer.from(JSON.stringify({ items: corpus.map((v, i) => ({ id: i, value: v.value, note: `seen ${v.value} here` })) }));
    for (const size of [7, 1000, 65536]) {
      const out = streamed(body, every(size, body.length), () => new BodyMasker(masker, { json: true }));
      assert.deepEqual(leaks(out, corpus), [], `chunks of ${size}`);
      JSON.parse(out);
    }
  });

  it('plain stream text: no value survives, in lines and glued to punctuation', () => {
    const text = Buffer.from(corpus.map((v, i) => (i % 2 === 0 ? `line ${i}: ${v.value}\n` : `(${v.value}), `)).join(''));
    for (const size of [1, 13, 4096]) assert.deepEqual(leaks(streamed(text, every(size, text.length), () => new StreamMasker(masker)), corpus), [], `chunks of ${size}`);
  });

  it('leaves look-alikes alone: digests, UUIDs, git SHAs, base64 of words, dates and amounts', () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const s of lookalikes({ seed })) assert.deepEqual(masker.maskText(`value: ${s}\n`).notes, [], s);
    }
  });

  it('a value split across any chunk boundary is still masked (fast-check)', () => {
    const noise = fc.string({ unit: fc.constantFrom(...'abc XYZ 019-_./:="\n'.split('')), maxLength: 40 });
    fc.assert(
      fc.property(fc.constantFrom(...corpus), noise, noise, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), (v, before, after, rawCuts, small) => {
        const input = Buffer.from(`${before} ${v.value} ${after}`);
        const at = Buffer.byteLength(`${before} `);
        // At least one cut inside the value, the others anywhere.
        const cuts = [at + 1 + (rawCuts[0]! % Math.max(1, Buffer.byteLength(v.value) - 1)), ...rawCuts.slice(1).map((c) => c % (input.length + 1))].sort((a, b) => a - b);
        const whole = masker.maskBytes(input).out.toString('utf8');
        const out = streamed(input, cuts, () => new StreamMasker(masker, small ? { maxTokenBytes: 256 } : {}));
        assert.ok(!out.includes(v.secret), `${v.kind} leaked: ${JSON.stringify(out)}`);
        if (!small || Buffer.byteLength(v.value) < 200) assert.equal(out, whole);
      }),
      { numRuns: 1500 },
    );
  });
});
