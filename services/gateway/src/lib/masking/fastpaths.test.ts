/**
 * The detectors' shortcuts against the straightforward code they stand for, on random input
 * (fast-check): a prefilter may let through what the full check then rejects, never the reverse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeDataRow, encodeRowDescription, MessageReader } from '../protocols/postgres/index.js';
import { Masker, NoteSink, PgResultMasker } from './index.js';
import { hasNanpTail } from './pii.js';
import { CLASS, entropy, UPPER } from './bytes.js';
import { forEachRun, forEachSparseRun, type Scan } from './scan.js';
import { endsKey, indexOfBegin, mayEndKey } from './secrets.js';
import { screenToken, tokenHints, TOKEN_RULES } from './tokens.js';
import type { MaskNote, Match } from './types.js';

/** Token bytes, weighted towards the letters the rules' prefixes are made of. */
const TOKEN_CHARS = 'AKISBCT3zcy29.ghpousr_itldfaGR1xQ~eJkwhnm-+/=0Z'.split('');
/** A match of each token rule, and the prefixes they begin with. */
const TOKENS = [
  'AKIAIOSFODNN7EXAMPLE', 'A3TX1234567890ABCDEF', 'AIza' + 'b'.repeat(35), 'ya29.' + 'a'.repeat(30), 'ghp_' + 'a1'.repeat(18), 'github_pat_' + 'a'.repeat(30),
  'glpat-' + 'x'.repeat(24), 'glagent-' + 'y'.repeat(24), 'GR1348941' + 'e'.repeat(20), 'xoxb-123456789012-abcdefghijklmno', 'xapp-1-' + 'A'.repeat(20),
  'hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'AccountKey=' + 'aB3'.repeat(14), 'SharedAccessKey=' + 'cD4'.repeat(14),
  'abc1Q~' + 'x'.repeat(32), 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N', 'sk_live_' + 'c'.repeat(24), 'rk_live_' + 'c'.repeat(24),
  'whsec_' + 'd'.repeat(30), 'npm_' + 'a1'.repeat(18), 'sk-ant-api03-' + 'a'.repeat(85), 'sk-proj-' + 'a'.repeat(20) + 'T3BlbkFJ' + 'b'.repeat(20),
];
const PREFIXES = TOKENS.map((t) => t.slice(0, 12));
const token = fc
  .array(fc.oneof(fc.constantFrom(...TOKEN_CHARS), fc.constantFrom(...PREFIXES).map((h) => h.slice(0, 1 + (h.length >> 1))), fc.constantFrom(...PREFIXES), fc.constantFrom(...TOKENS)), { minLength: 1, maxLength: 20 })
  .map((parts) => parts.join(''))
  .filter((t) => t.length >= 2);

describe('masking fast paths', () => {
  it('forEachRun, forEachSparseRun: every maximal run of minLen or more within [from, to), as a byte-by-byte scan finds them', () => {
    const cls = new Uint8Array(256);
    for (const c of 'ab1-') cls[c.charCodeAt(0)] = 1;
    // Runs of every length around minLen, apart by a byte or a few outside the class.
    const run = fc.string({ unit: fc.constantFrom('a', 'b', '1', '-'), maxLength: 30 });
    const gap = fc.string({ unit: fc.constantFrom(' ', 'x', 'é', '\n'), minLength: 1, maxLength: 3 });
    const text = fc.array(fc.tuple(run, gap), { maxLength: 8 }).map((parts) => parts.map(([r, g]) => r + g).join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 8, max: 24 }), fc.nat(), fc.nat(), (t, minLen, f, e) => {
        const buf = Buffer.from(t);
        const from = f % (buf.length + 1);
        const to = from + (e % (buf.length - from + 1));
        const want: [number, number][] = [];
        for (let i = from; i < to; ) {
          if (cls[buf[i]!] !== 1) {
            i++;
            continue;
          }
          let j = i;
          while (j < to && cls[buf[j]!] === 1) j++;
          if (j - i >= minLen) want.push([i, j]);
          i = j;
        }
        const scan: Scan = { buf, from, to, out: [], cfg: {} as Scan['cfg'], until: to };
        for (const find of [forEachRun, forEachSparseRun]) {
          const got: [number, number][] = [];
          find(scan, cls, minLen, (_, a, b) => void got.push([a, b]));
          assert.deepEqual(got, want, `${find.name} ${JSON.stringify(t)} [${from}, ${to}) minLen ${minLen}`);
          // With a limit: every run starting before it, in the same order (maybe a few more).
          const limit = from + (f % (to - from + 1));
          const some: [number, number][] = [];
          find({ ...scan, until: limit }, cls, minLen, (_, a, b) => void some.push([a, b]));
          assert.deepEqual(some, want.slice(0, some.length));
          assert.deepEqual(some.filter(([a]) => a < limit), want.filter(([a]) => a < limit));
        }
      }),
      { numRuns: 20000 },
    );
  });

  it('tokenHints, screenToken: name every token rule that matches the token; the upper case count is exact (up to 2)', () => {
    const matchers = TOKEN_RULES.map((r) => ({ index: r.index, re: new RegExp(r.re.source, r.re.flags.replace('g', '')) }));
    fc.assert(
      fc.property(token, fc.nat(4), (t, pad) => {
        // The token sits inside other bytes: the screens must read only [start, end).
        const buf = Buffer.from(`${'Q~AKIA'.slice(0, pad)} ${t}\n${'sk-'.slice(0, pad)}`, 'latin1');
        const start = pad + 1;
        const hints = tokenHints(buf, start, start + t.length);
        for (const { index, re } of matchers) if (re.test(t)) assert.ok(hints.includes(index), `${re.source} matches ${JSON.stringify(t)}`);
        assert.equal(new Set(hints).size, hints.length, 'each rule named once');
        let upper = 0;
        for (const c of Buffer.from(t, 'latin1')) if ((CLASS[c]! & UPPER) !== 0) upper++;
        // The screen: a hit exactly when there are hints, and the count up to 2.
        assert.equal(screenToken(buf, start, start + t.length), (hints.length > 0 ? 1 : 0) | (Math.min(2, upper) << 1));
      }),
      { numRuns: 20000 },
    );
    // Each sample matches its rule (the property above is not empty).
    for (const t of TOKENS) assert.ok(matchers.some(({ re }) => re.test(t)), t);
  });

  it('Masker.apply: the same bytes as concatenating the stretches and markers, and where each marker is', () => {
    const masker = new Masker();
    // Markers shorter and longer than what they replace ('[MASKED:x]' is 10 bytes).
    const detector = fc.constantFrom('x', 'email', 'aws-secret-access-key', 'jwt');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.tuple(fc.nat(30), fc.nat(40), detector), { maxLength: 8 }), fc.nat(), fc.nat(), (bytes, spans, f, t) => {
        const buf = Buffer.from(bytes);
        const from = f % buf.length;
        const to = from + (t % (buf.length - from + 1));
        const matches: Match[] = [];
        let pos = from;
        for (const [gap, len, d] of spans) {
          const start = pos + gap;
          const end = start + len;
          if (end > to) break;
          matches.push({ start, end, detector: d });
          pos = end;
        }
        const parts: Buffer[] = [];
        const want: number[] = [];
        pos = from;
        for (const m of matches) {
          parts.push(buf.subarray(pos, m.start));
          want.push(parts.reduce((n, p) => n + p.length, 0));
          parts.push(masker.marker(m.detector));
          pos = m.end;
        }
        parts.push(buf.subarray(pos, to));
        const got: number[] = [];
        const out = masker.apply(buf, matches, from, to, (m, at, end) => {
          assert.equal(end - at, masker.marker(m.detector).length);
          got.push(at);
        });
        assert.deepEqual(out, Buffer.concat(parts));
        assert.deepEqual(got, want);
      }),
      { numRuns: 10000 },
    );
  });

  it('entropy: the same number as counting with a Map', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), (bytes, f) => {
        const buf = Buffer.from(bytes);
        const start = f % (buf.length + 1);
        const counts = new Map<number, number>();
        for (let i = start; i < buf.length; i++) counts.set(buf[i]!, (counts.get(buf[i]!) ?? 0) + 1);
        let h = 0;
        for (const c of counts.values()) h -= (c / (buf.length - start)) * Math.log2(c / (buf.length - start));
        assert.equal(entropy(buf, start, buf.length), h);
        assert.equal(entropy(buf, start, buf.length), h, 'again: the counts were reset');
      }),
      { numRuns: 5000 },
    );
  });

  it('hasNanpTail: true exactly where ddd[.-]dddd occurs', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789.- ()+/x'.split('')), maxLength: 40 }), (t) => {
        const buf = Buffer.from(`9${t}9`, 'latin1');
        assert.equal(hasNanpTail(buf, 1, buf.length - 1), /\d{3}[.-]\d{4}/.test(t), JSON.stringify(t));
      }),
      { numRuns: 20000 },
    );
  });

  it('mayEndKey: true for every byte triple that ends a key word (all 2^24 of them tried)', () => {
    let endings = 0;
    for (let a = 0; a < 256; a++)
      for (let b = 0; b < 256; b++)
        for (let c = 0; c < 256; c++) {
          if (mayEndKey(a, b, c) || !endsKey(a, b, c)) continue;
          assert.fail(`${a} ${b} ${c} ends a key word but the table turns it away`);
        }
    // Each of the ten endings in its upper and lower case forms.
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) for (let c = 0; c < 256; c++) if (endsKey(a, b, c)) endings++;
    assert.equal(endings, 10 * 8);
  });

  it("indexOfBegin: the same as indexOf('BEGIN')", () => {
    const begin = Buffer.from('BEGIN');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('B', 'E', 'G', 'I', 'N', '-', 'x', 'BEGIN', 'BEGI'), maxLength: 40 }), fc.nat(45), (t, from) => {
        const buf = Buffer.from(t, 'latin1');
        assert.equal(indexOfBegin(buf, from), buf.indexOf(begin, from));
      }),
      { numRuns: 20000 },
    );
  });

  it('Masker.find with `until`: the spans ending by then as a full scan gives them, and where the next one starts', () => {
    const masker = new Masker();
    const noise = fc.string({ unit: fc.constantFrom(...'abcXYZ019 _-./:=@+"\'\n{}[],é'.split('')), maxLength: 30 });
    const text = fc.array(fc.tuple(noise, fc.constantFrom(...PLANTED, ...PLANTED.map((p) => p.slice(0, p.length >> 1)), 'user@example.com', 'postgres://u:pw@db/x', 'NO93 8601 1117 947', 'GB82WEST12345698765432', 'GB82 WEST 1234 5698 7654 32', 'MT84MALT011000012345MTLCAST001S', '+1 555 010 0199')), { maxLength: 8 });
    fc.assert(
      fc.property(text, fc.nat(), (parts, u) => {
        const buf = Buffer.from(parts.map(([n, p]) => n + p).join(' '));
        const until = u % (buf.length + 1);
        const full = masker.find(buf);
        const part = masker.find(buf, 0, buf.length, until);
        assert.deepEqual(
          part.filter((m) => m.end <= until),
          full.filter((m) => m.end <= until),
        );
        const next = full.find((m) => m.end > until);
        if (next && next.start < until) assert.equal(part.find((m) => m.end > until)?.start, next.start);
      }),
      { numRuns: 5000 },
    );
  });

  it('maskDataRow: the same frames and notes as decoding, masking each value and encoding the row', () => {
    const reader = new MessageReader({ maxMessageBytes: 1 << 22 });
    const value = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 6, arbitrary: fc.array(fc.oneof(fc.constantFrom(...PLANTED), fc.string({ unit: fc.constantFrom(...'ab1 .:=@-"é'.split('')), maxLength: 12 })), { maxLength: 5 }).map((p) => p.join(' ')) },
    );
    const column = fc.record({ name: fc.constantFrom('id', 'email', 'note', 'SSN', 'blob', 'x'), binary: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.tuple(column, value), { maxLength: 8 }), fc.subarray(['ssn', 'note']), fc.boolean(), fc.nat(300), (cols, wholeNames, described, pad) => {
        const masker = new Masker({ columns: wholeNames });
        const fields = cols.map(([c]) => ({ name: c.name, typeOid: c.binary ? 17 : 25, format: c.binary ? 1 : 0 }));
        // Long rows too: the private key scan switches its search at 1 KiB.
        const values = cols.map(([, v], i) => (v === null || i > 0 ? v : `${'z '.repeat(pad * 3)}${v}`));
        const row = reader.push(encodeDataRow(values)).messages[0]!;
        const pg = new PgResultMasker(masker);
        if (described) pg.onRowDescription(encodeRowDescription(fields).subarray(5));
        const got = pg.maskDataRow(row.frame, row.payload);
        const want = referenceRow(masker, described ? fields.map((f) => ({ name: f.name, scan: f.format === 0 })) : [], row.payload);
        if (want.frame === undefined) assert.equal(got.frame, row.frame);
        else assert.deepEqual(got.frame, want.frame);
        assert.deepEqual(got.notes, want.notes);
      }),
      { numRuns: 3000 },
    );
  });

  it('NoteSink: the same notes as looking every place up by its key', () => {
    const detector = fc.constantFrom('email', 'jwt', 'column');
    const call = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('add' as const), detector, fc.nat(40), fc.nat(3)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('addAt' as const), detector, fc.oneof(fc.constantFrom('note', 'email', ''), fc.tuple(fc.nat(40), fc.nat(3)).map(([a, b]) => `bytes ${a}-${a + b}`)), fc.nat(2)) },
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 160 }), fc.boolean(), (calls, increasing) => {
        const got = new NoteSink();
        const want = new ReferenceSink();
        let at = 0;
        for (const [kind, d, a, b] of calls) {
          if (kind === 'add') {
            // Mostly as apply() gives them (increasing), or anywhere.
            const start = increasing ? (at += a) : a;
            got.add(d, start, start + b);
            want.add(d, start, start + b);
          } else {
            got.addAt(d, a, b);
            want.addAt(d, a, b);
          }
          if (calls.length % 7 === 0) assert.deepEqual(got.notes(), want.notes()); // notes() in between changes nothing
        }
        assert.deepEqual(got.notes(), want.notes());
      }),
      { numRuns: 5000 },
    );
  });

  it('maskDataRow: many masked columns fold their notes as a NoteSink does; odd NULL lengths are written -1', () => {
    const masker = new Masker();
    const names = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const pg = new PgResultMasker(masker);
    pg.onRowDescription(encodeRowDescription(names.map((name) => ({ name }))).subarray(5));
    const reader = new MessageReader({ maxMessageBytes: 1 << 22 });
    const row = reader.push(encodeDataRow(names.map((n) => `${n}@example.com`))).messages[0]!;
    const want = referenceRow(masker, names.map((name) => ({ name, scan: true })), row.payload);
    assert.deepEqual(pg.maskDataRow(row.frame, row.payload), want);
    assert.equal(want.notes.length, 65); // 64 places, then one for the rest

    const odd = Buffer.from(encodeDataRow([null, 'mail ada@example.com', null]));
    odd.writeInt32BE(-5, 7); // a NULL written as -5: the codec reads any negative length as NULL
    const m = reader.push(odd).messages[0]!;
    const r = new PgResultMasker(masker).maskDataRow(m.frame, m.payload);
    assert.deepEqual(r, referenceRow(masker, [], m.payload));
    assert.equal(r.frame.readInt32BE(7), -1);
  });
});

/** The NoteSink as first written: every note looked up by a key string. */
class ReferenceSink {
  private readonly byKey = new Map<string, MaskNote>();
  private readonly overflow = new Map<string, { first: number; last: number; count: number }>();

  add(detector: string, start: number, end: number): void {
    if (this.byKey.size < 64) return this.addAt(detector, `bytes ${start}-${end}`);
    const o = this.overflow.get(detector);
    if (o) {
      o.last = end;
      o.count++;
    } else this.overflow.set(detector, { first: start, last: end, count: 1 });
  }

  addAt(detector: string, location: string, count = 1): void {
    const key = `${detector}\0${location}`;
    const n = this.byKey.get(key);
    if (n) n.count += count;
    else if (this.byKey.size < 64) this.byKey.set(key, { detector, location, count });
    else {
      const o = this.overflow.get(detector) ?? { first: -1, last: -1, count: 0 };
      o.count += count;
      this.overflow.set(detector, o);
    }
  }

  notes(): MaskNote[] {
    const out = [...this.byKey.values()];
    for (const [detector, o] of this.overflow) out.push({ detector, location: o.first >= 0 ? `bytes ${o.first}-${o.last} (and others)` : 'more places', count: o.count });
    return out;
  }
}

const PLANTED = ['AKIAIOSFODNN7EXAMPLE', 'grace.hopper42@example.com', '4111111111111111', 'DE89370400440532013000', 'password=hunter2hunter2', '555-123-4567', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB1gdOVRo0pW2a5sSTr0TVuDBHzUdEY4yLuq\n-----END PRIVATE KEY-----'];

/**
 * The straightforward DataRow masking the fast path must equal: values copied to a scan buffer of
 * their own with NUL length fields, one find, then every value rebuilt and the row encoded anew.
 * The frame is undefined when the row goes out as it came.
 */
function referenceRow(masker: Masker, columns: { name: string; scan: boolean }[], payload: Buffer): { frame: Buffer | undefined; notes: MaskNote[] } {
  const n = payload.readInt16BE(0);
  const scan = Buffer.from(payload);
  const spans: [number, number][] = [];
  let pos = 2;
  for (let i = 0; i < n; i++) {
    const len = payload.readInt32BE(pos);
    scan.fill(0, pos, pos + 4);
    pos += 4;
    spans.push([pos, len]);
    if (len > 0) pos += len;
  }
  const matches = masker.find(scan, 2, pos);
  const whole = spans.some(([, len], i) => len >= 0 && masker.masksColumn((columns[i] ?? { name: `column ${i + 1}` }).name));
  if (matches.length === 0 && !whole) return { frame: undefined, notes: [] };
  const notes = new NoteSink();
  const out = spans.map(([start, len], i) => {
    const col = columns[i] ?? { name: `column ${i + 1}`, scan: true };
    const mine: Match[] = matches.filter((m) => m.start >= start && m.end <= start + Math.max(len, 0));
    if (len < 0) return null;
    if (masker.masksColumn(col.name)) {
      notes.addAt('column', col.name);
      return masker.marker('column');
    }
    if (mine.length === 0 || !col.scan) return payload.subarray(start, start + len);
    for (const m of mine) notes.addAt(m.detector, col.name);
    return masker.apply(payload, mine, start, start + len);
  });
  return { frame: encodeDataRow(out), notes: notes.notes() };
}
