import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { summarizeManifest } from './manifest.js';
import { ociActions, parseOciPath } from './path.js';

const seg = (p: string): string[] => p.split('/').filter((s) => s !== '');
const D = `sha256:${'a'.repeat(64)}`;

describe('OCI distribution endpoints', () => {
  it('classifies every endpoint of the spec', () => {
    const cases: [string, string, Record<string, string[]>, string, string, string | null, string | null][] = [
      ['GET', '/v2/', {}, 'ping', '', null, null],
      ['GET', '/v2/_catalog', {}, 'catalog', '', null, null],
      ['GET', '/v2/team/app/tags/list', {}, 'tags.list', 'team/app', null, null],
      ['HEAD', '/v2/team/app/manifests/v1.2', {}, 'manifest.pull', 'team/app', 'v1.2', null],
      ['PUT', '/v2/team/app/manifests/latest', {}, 'manifest.push', 'team/app', 'latest', null],
      ['PUT', `/v2/app/manifests/${D}`, {}, 'manifest.push', 'app', null, D],
      ['DELETE', `/v2/app/manifests/${D}`, {}, 'manifest.delete', 'app', null, D],
      ['GET', `/v2/a/b/c/blobs/${D}`, {}, 'blob.pull', 'a/b/c', null, D],
      ['DELETE', `/v2/app/blobs/${D}`, {}, 'blob.delete', 'app', null, D],
      ['POST', '/v2/app/blobs/uploads/', {}, 'blob.upload.start', 'app', null, null],
      ['POST', '/v2/app/blobs/uploads/', { digest: [D] }, 'blob.upload', 'app', null, D],
      ['POST', '/v2/app/blobs/uploads/', { mount: [D], from: ['other/app'] }, 'blob.mount', 'app', null, D],
      ['PATCH', '/v2/app/blobs/uploads/uuid-1', {}, 'blob.upload.chunk', 'app', null, null],
      ['PUT', '/v2/app/blobs/uploads/uuid-1', { digest: [D] }, 'blob.upload.complete', 'app', null, D],
      ['GET', '/v2/app/blobs/uploads/uuid-1', {}, 'blob.upload.status', 'app', null, null],
      ['DELETE', '/v2/app/blobs/uploads/uuid-1', {}, 'blob.upload.cancel', 'app', null, null],
      ['GET', `/v2/app/referrers/${D}`, {}, 'referrers', 'app', null, D],
    ];
    for (const [method, path, q, op, repo, tag, digest] of cases) {
      const r = parseOciPath(method, seg(path), q);
      assert.deepEqual([r?.op, r?.repository, r?.tag, r?.digest], [op, repo, tag, digest], `${method} ${path}`);
    }
    assert.equal(parseOciPath('GET', seg('/v2/UPPER/manifests/x'), {}), undefined);
    assert.equal(parseOciPath('GET', seg('/v2/app/manifests/bad:tag:x'), {}), undefined);
    assert.equal(parseOciPath('GET', seg('/v3/app'), {}), undefined);
    assert.deepEqual(ociActions('manifest.push'), ['pull', 'push']);
    assert.deepEqual(ociActions('blob.delete'), ['delete']);
  });

  it('summarises a manifest with the registry digest', () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: D, size: 10 }, layers: [{ size: 5 }, { size: 7 }] }));
    const m = summarizeManifest(body, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(m.layers, 2);
    assert.equal(m.layersSize, 12);
    assert.equal(m.config, D);
    assert.match(m.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(summarizeManifest(Buffer.from('[1]'), undefined).invalid, true);
  });

  it('never throws on random paths and bodies', () => {
    const part = fc.constantFrom('v2', 'manifests', 'blobs', 'uploads', 'tags', 'list', '_catalog', 'referrers', 'app', 'a.b', D, 'UP', '..', '');
    fc.assert(
      fc.property(fc.constantFrom('GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD'), fc.array(part, { maxLength: 8 }), fc.dictionary(fc.constantFrom('digest', 'mount', 'from'), fc.array(fc.string(), { maxLength: 2 })), (m, parts, q) => {
        const r = parseOciPath(m, parts, q);
        if (r && r.repository) assert.match(r.repository, /^[a-z0-9]/);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void summarizeManifest(Buffer.from(b), undefined)), { numRuns: 2_000 });
  });
});
