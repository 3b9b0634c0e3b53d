import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Frame } from '@chaperone/events';
import { get, startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const USERS = JSON.stringify({ users: [{ name: 'Ada', ssn: '078-05-1120', contact: { email: 'ada@example.com' } }, { name: 'Grace', ssn: 123456789 }], total: 2 });

describe('HTTP responses: JSON path mask rules', () => {
  let up: Upstream;
  let h: Harness;
  let token: string;

  before(async () => {
    up = await startUpstream((r, res) => {
      const [type, body] = r.url.startsWith('/text')
        ? ['text/plain', USERS]
        : r.url.startsWith('/broken')
          ? ['application/json', `{"ssn": "1", ${'x'.repeat(10)} "ssn": "078-05-1120"}`]
          : r.url.startsWith('/watch')
            ? ['application/json;stream=watch', `${JSON.stringify({ type: 'ADDED', object: { ssn: 'a' } })}\n${JSON.stringify({ type: 'DELETED', object: { ssn: 'b' } })}\n`]
            : ['application/json; charset=utf-8', USERS];
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
      // Cut inside a matched value: the rules hold across chunks.
      const cut = body.indexOf('05-');
      res.write(body.slice(0, cut));
      setTimeout(() => res.end(body.slice(cut)), 20);
    });
    h = await startHarness(
      [{ name: 'api', protocol: 'http', labels: { env: 'prod' }, http: { upstream: up.url, pathPrefix: '/api' } }],
      () => ({ result: 'allow', reasons: [], mask: { jsonPaths: ['$..ssn'], detectors: ['email'] } }),
    );
    token = await h.token('agent:json');
  });
  after(async () => {
    await h.close();
    up.server.close();
  });

  const responseFrames = (path: string): Frame[] => {
    const published = h.sink.published;
    const cmd = published.find((e) => e.event.body.type === 'Command' && e.event.body.text === `GET /api${path}`)!;
    return published.filter((e) => e.event.sessionId === cmd.event.sessionId && e.event.body.type === 'Frame' && e.event.body.messageType === 'http.response.body').map((e) => e.event.body as Frame);
  };

  it('replaces the values at the paths (strings and numbers alike) and records the paths, not the values', async () => {
    const r = await get(`${h.base}/api/users`, { Authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], undefined, 'the masked body is sent chunked');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    const doc = JSON.parse(r.body) as { users: { ssn: unknown; contact?: { email: string } }[] };
    assert.deepEqual(
      doc.users.map((u) => u.ssn),
      ['[MASKED:json-path]', '[MASKED:json-path]'],
    );
    assert.equal(doc.users[0]!.contact!.email, '[MASKED:email]', 'the detectors run as well (the policy enables e-mail)');
    const frames = responseFrames('/users');
    const notes = frames.flatMap((f) => f.masks);
    assert.deepEqual(notes.filter((n) => n.detector === 'json-path').map((n) => n.location), ['$.users[0].ssn', '$.users[1].ssn']);
    const recorded = Buffer.concat(frames.map((f) => f.bytes)).toString();
    assert.ok(!recorded.includes('078-05-1120') && !recorded.includes('123456789'), 'the recording holds what the agent saw');
  });

  it('reads a watch stream as a sequence of documents', async () => {
    const r = await get(`${h.base}/api/watch`, { Authorization: `Bearer ${token}` });
    assert.deepEqual(
      r.body.trim().split('\n').map((l) => (JSON.parse(l) as { object: { ssn: string } }).object.ssn),
      ['[MASKED:json-path]', '[MASKED:json-path]'],
    );
  });

  it('leaves bodies that are not JSON to the detectors, and says where a broken JSON body stopped the rules', async () => {
    const text = await get(`${h.base}/api/text`, { Authorization: `Bearer ${token}` });
    assert.ok(text.body.includes('"ssn":"078-05-1120"'), 'text/plain gets no JSON path rules');
    const broken = await get(`${h.base}/api/broken`, { Authorization: `Bearer ${token}` });
    assert.equal(broken.body, `{"ssn": "[MASKED:json-path]", ${'x'.repeat(10)} "ssn": "078-05-1120"}`);
    const notes = responseFrames('/broken').flatMap((f) => f.masks);
    assert.ok(notes.some((n) => n.detector === 'json-path' && /^not applied: unexpected "x" at byte 13$/.test(n.location)), JSON.stringify(notes));
  });
});
