import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileJsonPath, Masker, MaskRulesError } from './index.js';

const body = Buffer.from(`{
  "users": [
    {"id": 12345678901234567890, "name": "Ada", "ssn": "078-05-1120", "profile": {"dob": "1815-12-10", "tags": ["a", "b"]}},
    {"id": 2, "name": "Grace", "ssn": null, "profile": {"dob": "1906-12-09"}}
  ],
  "meta": {"next": "c2VjcmV0", "we\\"ird": "x"}
}`);

describe('JSON path masking', () => {
  it('replaces values at the paths with a JSON string marker and leaves every other byte as sent', () => {
    const m = new Masker({ jsonPaths: ['$.users[*].ssn', '$..dob', '$.meta["we\\"ird"]'], detectors: [] });
    const r = m.maskJson(body);
    const text = r.out.toString();
    const doc = JSON.parse(text) as { users: { ssn: unknown; profile: { dob: string } }[]; meta: Record<string, string> };
    assert.equal(doc.users[0]!.ssn, '[MASKED:json-path]');
    assert.equal(doc.users[1]!.ssn, '[MASKED:json-path]');
    assert.equal(doc.users[1]!.profile.dob, '[MASKED:json-path]');
    assert.equal(doc.meta['we"ird'], '[MASKED:json-path]');
    assert.ok(text.includes('"id": 12345678901234567890'), 'big numbers are not re-serialised');
    assert.ok(text.includes('"tags": ["a", "b"]'));
    assert.deepEqual(r.notes.map((n) => n.location), ['$.users[0].ssn', '$.users[0].profile.dob', '$.users[1].ssn', '$.users[1].profile.dob', '$.meta["we\\"ird"]']);
  });

  it('masks whole subtrees, indexes and wildcards', () => {
    const m = new Masker({ jsonPaths: ['$.users[0].profile', '$.meta.*'], detectors: [] });
    const doc = JSON.parse(m.maskJson(body).out.toString()) as { users: { profile: unknown }[]; meta: Record<string, string> };
    assert.equal(doc.users[0]!.profile, '[MASKED:json-path]');
    assert.deepEqual(doc.users[1]!.profile, { dob: '1906-12-09' });
    assert.deepEqual(Object.values(doc.meta), ['[MASKED:json-path]', '[MASKED:json-path]']);
  });

  it('runs the detectors after the paths', () => {
    const m = new Masker({ jsonPaths: ['$.a'] });
    const r = m.maskJson(Buffer.from('{"a": 1, "b": "mail ada@example.com"}'));
    assert.equal(r.out.toString(), '{"a": "[MASKED:json-path]", "b": "mail [MASKED:email]"}');
  });

  it('applies only the detectors to a body that is not JSON and says why', () => {
    const m = new Masker({ jsonPaths: ['$.a'] });
    const r = m.maskJson(Buffer.from('{"a": 1, oops ada@example.com'));
    assert.match(r.error ?? '', /not JSON/);
    assert.equal(r.out.toString(), '{"a": 1, oops [MASKED:email]');
  });

  it('refuses paths it cannot read', () => {
    for (const bad of ['users.ssn', '$', '$.a[', '$..', '$.a b']) assert.throws(() => compileJsonPath(bad), MaskRulesError, bad);
    assert.deepEqual(compileJsonPath("$..items[*]['e-mail']").steps.length, 3);
  });
});
