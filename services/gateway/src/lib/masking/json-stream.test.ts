import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BodyMasker, compileJsonPath, JsonPathStream, Masker, MAX_JSON_DEPTH, type MaskNote } from './index.js';

const PATHS = ['$.users[*].ssn', '$..dob', '$.meta["we\\"ird"]', '$..password', '$.list[1]', '$.deep.*'];
const pathsOnly = new Masker({ jsonPaths: PATHS, detectors: [] });

/** Streams `input` cut at `cuts` through a fresh JsonPathStream. */
function streamPaths(input: Buffer, cuts: number[], paths = PATHS): { out: Buffer; notes: MaskNote[]; s: JsonPathStream } {
  const s = new JsonPathStream(paths.map(compileJsonPath));
  const parts: Buffer[] = [];
  const notes: MaskNote[] = [];
  let pos = 0;
  for (const cut of [...cuts, input.length]) {
    const r = s.push(input.subarray(pos, cut));
    parts.push(r.out);
    notes.push(...r.notes);
    pos = cut;
  }
  parts.push(s.end().out);
  return { out: Buffer.concat(parts), notes, s };
}

const FIXTURE = Buffer.from(`{
  "users": [
    {"id": 12345678901234567890, "name": "Ada \\"the\\" first", "ssn": "078-05-1120", "profile": {"dob": "1815-12-10", "tags": ["a", "b"]}},
    {"id": 2, "name": "Grace", "ssn": null, "profile": {"dob": {"y": 1906, "s": "}]\\\\"}}}
  ],
  "list": [1, {"x": [true, false]}, 3e-5],
  "deep": {"a": -0.5, "b": [[]], "c": "\\u0022"},
  "meta": {"next": "c2VjcmV0", "we\\"ird": "x", "password": 1234}
}`);

describe('JsonPathStream', () => {
  it('masks exactly like the whole-document pass, at every cut and byte by byte', () => {
    const whole = pathsOnly.maskJson(FIXTURE);
    assert.equal(whole.error, undefined);
    const expected = whole.out.toString();
    const doc = JSON.parse(expected) as { users: { ssn: string }[]; list: unknown[]; deep: Record<string, unknown> };
    assert.deepEqual([doc.users[0]!.ssn, doc.list[1], doc.deep.b], ['[MASKED:json-path]', '[MASKED:json-path]', '[MASKED:json-path]']);
    for (let i = 0; i <= FIXTURE.length; i++) {
      const r = streamPaths(FIXTURE, [i]);
      assert.equal(r.out.toString(), expected, `cut at ${i}`);
      assert.deepEqual(r.notes.map((n) => n.location), whole.notes.map((n) => n.location), `notes, cut at ${i}`);
    }
    const bytes = [...FIXTURE.keys()].slice(1);
    assert.equal(streamPaths(FIXTURE, bytes).out.toString(), expected, 'byte by byte');
  });

  it('agrees with the whole-document pass on random JSON and random chunking', () => {
    const key = fc.constantFrom('ssn', 'dob', 'password', 'list', 'deep', 'users', 'we"ird', 'meta', 'x', 'é東');
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.jsonValue({ maxDepth: 0 }), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(value, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (v, cuts, pretty) => {
        const buf = Buffer.from(JSON.stringify(v, null, pretty ? 2 : undefined) ?? 'null');
        const sorted = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        const whole = pathsOnly.maskJson(buf);
        const r = streamPaths(buf, sorted);
        assert.equal(r.out.toString(), whole.out.toString());
        assert.equal(r.s.error, undefined);
      }),
      { numRuns: 1500 },
    );
  });

  it('reads a sequence of documents (watch streams, NDJSON), each from its own root', () => {
    const input = Buffer.from('{"type":"ADDED","object":{"password":"a"}}\n{"type":"MODIFIED","object":{"password":"b"}}\n7 "x" [1]\n');
    const r = streamPaths(input, [50], ['$.object.password']);
    assert.equal(r.out.toString(), '{"type":"ADDED","object":{"password":"[MASKED:json-path]"}}\n{"type":"MODIFIED","object":{"password":"[MASKED:json-path]"}}\n7 "x" [1]\n');
    assert.equal(r.s.masked, 2);
  });

  it('drops a huge matched value as it streams, holding nothing back', () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const input = Buffer.from(JSON.stringify({ before: 1, password: big, nested: { password: [big] }, after: 'kept' }));
    const s = new JsonPathStream([compileJsonPath('$..password')]);
    const parts: Buffer[] = [];
    for (let i = 0; i < input.length; i += 65536) {
      const chunk = input.subarray(i, i + 65536);
      const r = s.push(chunk);
      assert.ok(r.out.length <= chunk.length + 20, 'never more than the chunk (plus a marker)');
      parts.push(r.out);
      assert.ok(s.depth <= 2);
    }
    assert.equal(Buffer.concat(parts).toString(), '{"before":1,"password":"[MASKED:json-path]","nested":{"password":"[MASKED:json-path]"},"after":"kept"}');
  });

  it('stops applying the rules at input that is not JSON, passes the rest on and says where', () => {
    const input = Buffer.from('{"password": "a", oops "password": "b"}');
    const r = streamPaths(input, [10], ['$..password']);
    assert.equal(r.out.toString(), '{"password": "[MASKED:json-path]", oops "password": "b"}');
    assert.match(r.s.error ?? '', /not applied from there on: unexpected "o" at byte 18/);
    assert.ok(r.notes.some((n) => n.detector === 'json-path' && n.location.startsWith('not applied: unexpected "o"') && n.count === 0));
    const deep = Buffer.from(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`);
    const d = streamPaths(deep, [], ['$..password']);
    assert.equal(d.out.toString(), deep.toString());
    assert.match(d.s.error ?? '', /at byte 256/);
    for (const bad of ['{"a" 1}', '[1,]x', '{"a":1]', '}', 'nul{']) assert.ok(streamPaths(Buffer.from(bad), [], ['$.a']).s.error, bad);
  });

  it('keeps member names up to the bound; a longer one matches wildcards only', () => {
    const long = 'k'.repeat(5000);
    const input = Buffer.from(JSON.stringify({ [long]: 'secret', o: { [long]: 1 } }));
    assert.equal(streamPaths(input, [2500], [`$.${long}`]).out.toString(), JSON.stringify({ [long]: '[MASKED:json-path]', o: { [long]: 1 } }), 'a rule may name it');
    assert.equal(streamPaths(input, [2500], ['$.o.*']).out.toString(), JSON.stringify({ [long]: 'secret', o: { [long]: '[MASKED:json-path]' } }));
    const s = new JsonPathStream([compileJsonPath('$.a')], { maxKeyBytes: 16 });
    assert.equal(s.push(Buffer.from(`{"${'a'.repeat(40)}": 1, "a": 2}`)).out.toString(), `{"${'a'.repeat(40)}": 1, "a": "[MASKED:json-path]"}`);
  });
});

describe('BodyMasker', () => {
  it('masks a 10 MB JSON body with secrets straddling chunk boundaries exactly like the one-pass JSON masking', () => {
    const masker = new Masker({ jsonPaths: ['$..password', '$.items[*].ssn'] });
    const aws = 'AKIAIOSFODNN7EXAMPLE';
    const items: unknown[] = [];
    for (let i = 0, size = 0; size < 10 * 1024 * 1024; i++) {
      const item = { id: i, note: `deploy key ${aws} for ${i}`, contact: `user${i}@example.com`, ssn: `078-05-${String(i % 10000).padStart(4, '0')}`, password: `p${i}`, pad: 'z'.repeat(i % 300) };
      items.push(item);
      size += JSON.stringify(item).length + 1;
    }
    const body = Buffer.from(JSON.stringify({ items }));
    const whole = masker.maskJson(body);
    for (const size of [65536, 16384 + 7]) {
      const b = new BodyMasker(masker, { json: true });
      const parts: Buffer[] = [];
      let jsonNotes = 0;
      for (let i = 0; i < body.length; i += size) {
        const r = b.push(body.subarray(i, i + size));
        parts.push(r.out);
        jsonNotes += r.notes.filter((n) => n.detector === 'json-path').reduce((a, n) => a + n.count, 0);
      }
      parts.push(b.end().out);
      const out = Buffer.concat(parts);
      assert.ok(out.equals(whole.out), `chunks of ${size}`);
      assert.ok(!out.includes(aws) && !out.includes('@example.com'));
      assert.equal(b.jsonMasked, items.length * 2);
      assert.equal(jsonNotes, items.length * 2);
    }
  });

  it('runs only the detectors on a body that is not JSON', () => {
    const b = new BodyMasker(new Masker({ jsonPaths: ['$.a'] }), { json: false });
    assert.equal(b.appliesJsonPaths, false);
    const r = b.push(Buffer.from('{"a": "ada@example.com"}'));
    assert.equal(Buffer.concat([r.out, b.end().out]).toString(), '{"a": "[MASKED:email]"}');
  });
});
