import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { k8sTarget, objectOf, parseK8sPath } from './path.js';

const seg = (p: string): string[] => p.split('/').filter((s) => s !== '');
const pick = (r: ReturnType<typeof parseK8sPath>): string => [r.verb, r.group, r.version, r.resource, r.subresource, r.namespace, r.name, r.action].join('|');

describe('Kubernetes request attributes (as RequestInfoFactory derives them)', () => {
  it('derives RBAC verbs and resource coordinates', () => {
    const cases: [string, string, Record<string, string[]>, string][] = [
      ['GET', '/api/v1/namespaces/demo/configmaps', {}, 'list||v1|configmaps||demo||list'],
      ['GET', '/api/v1/namespaces/demo/configmaps', { watch: ['true'] }, 'watch||v1|configmaps||demo||watch'],
      ['GET', '/api/v1/namespaces/demo/configmaps/app', {}, 'get||v1|configmaps||demo|app|get'],
      ['POST', '/api/v1/namespaces/demo/configmaps', {}, 'create||v1|configmaps||demo||create'],
      ['PUT', '/apis/apps/v1/namespaces/demo/deployments/web/scale', {}, 'update|apps|v1|deployments|scale|demo|web|update'],
      ['PATCH', '/apis/apps/v1/namespaces/demo/deployments/web', {}, 'patch|apps|v1|deployments||demo|web|patch'],
      ['DELETE', '/api/v1/namespaces/demo/pods/web', {}, 'delete||v1|pods||demo|web|delete'],
      ['DELETE', '/api/v1/namespaces/demo/pods', {}, 'deletecollection||v1|pods||demo||deletecollection'],
      ['POST', '/api/v1/namespaces/demo/pods/web/exec', { command: ['sh'] }, 'create||v1|pods|exec|demo|web|exec'],
      ['GET', '/api/v1/namespaces/demo/pods/web/exec', {}, 'get||v1|pods|exec|demo|web|exec'],
      ['GET', '/api/v1/namespaces/demo', {}, 'get||v1|namespaces||demo|demo|get'],
      ['PUT', '/api/v1/namespaces/demo/finalize', {}, 'update||v1|namespaces|finalize|demo|demo|update'],
      ['GET', '/api/v1/nodes', { fieldSelector: ['metadata.name=n1'] }, 'list||v1|nodes|||n1|list'],
      ['GET', '/api/v1/watch/namespaces/demo/pods', {}, 'watch||v1|pods||demo||watch'],
      ['GET', '/version', {}, 'get|||||||get'],
      ['GET', '/apis/apps/v1', {}, 'get|apps|v1|||||get'],
    ];
    for (const [m, p, q, want] of cases) assert.equal(pick(parseK8sPath(m, seg(p), q)), want, `${m} ${p}`);
    assert.equal(parseK8sPath('GET', seg('/openapi/v3'), {}).resourceRequest, false);
  });

  it('names targets and reads objects', () => {
    assert.equal(k8sTarget(parseK8sPath('DELETE', seg('/apis/apps/v1/namespaces/demo/deployments/web'), {}), '/x'), 'demo/deployments.apps/web');
    assert.equal(k8sTarget(parseK8sPath('GET', seg('/version'), {}), '/version'), '/version');
    assert.deepEqual(objectOf(Buffer.from('{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"b"}}')), { kind: 'ConfigMap', apiVersion: 'v1', name: 'a', namespace: 'b' });
    assert.equal(objectOf(Buffer.from('nope')), undefined);
  });

  it('never throws on random paths', () => {
    const part = fc.constantFrom('api', 'apis', 'v1', 'apps', 'namespaces', 'demo', 'pods', 'exec', 'status', 'finalize', 'watch', 'proxy', 'x%y', '');
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'), fc.array(part, { maxLength: 9 }), fc.dictionary(fc.constantFrom('watch', 'fieldSelector'), fc.array(fc.string(), { maxLength: 2 })), (m, parts, q) => {
        const r = parseK8sPath(m, parts, q);
        assert.equal(typeof r.verb, 'string');
        void k8sTarget(r, '/');
      }),
      { numRuns: 10_000 },
    );
  });
});
