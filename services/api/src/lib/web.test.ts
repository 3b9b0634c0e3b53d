import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@chaperone/config';
import { decodeRecord } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import { fixtureSession, testConfig, throwawayDatabase } from '@chaperone/store/testing';
import { createApiClient } from './client.js';
import { startApiServer, type ApiServer } from './server.js';
import { CSRF_HEADER, SESSION_COOKIE } from './web.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => Record<string, unknown>;
}

// The console's JSON API and static files on api.web (HTTPS, a throwaway certificate), over a
// throwaway database on the local stack's ClickHouse, next to the gRPC API of the same server.
describe('console web API', () => {
  const base = testConfig();
  const db = throwawayDatabase(base.clickhouse, 'chaperone_web_test');
  const a = fixtureSession({ subject: 'agent:w', connection: 'pg-w' });
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-web-'));
  const keyFile = join(dir, 'node.pub.pem');
  writeFileSync(keyFile, a.publicKey.export({ type: 'spki', format: 'pem' }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const consoleDir = join(dir, 'console');
  mkdirSync(join(consoleDir, 'assets'), { recursive: true });
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><meta property="csp-nonce" nonce="CHAPERONE_CSP_NONCE"><script type="module" src="/assets/app-1.js"></script>');
  writeFileSync(join(consoleDir, 'assets', 'app-1.js'), 'console.log(1)');
  const config: Config = {
    ...base,
    clickhouse: db.config,
    recording: { ...base.recording, trustedNodeKeys: { [a.nodeId]: keyFile } },
    api: {
      ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, requireToken: true,
      web: { listen: { host: '127.0.0.1', port: 0 }, tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } },
    },
    roles: { soc: ['soc'], approver: ['approvers'], admin: ['admins'] },
    // The browser login is the e2e test's (it needs the provider): here, token login only.
    login: base.login && { ...base.login, consoleClientId: undefined },
  };
  const ca = readFileSync(join(dir, 'cert.pem'));
  let store: Store;
  let server: ApiServer;
  let issuer: TokenIssuer;

  const call = (method: string, path: string, o: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const req = request(
        { host: '127.0.0.1', port: server.webAddress!.port, path, method, ca, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...o.headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode!, headers: res.headers, body: text, json: () => JSON.parse(text) as Record<string, unknown> });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const csrf = { [CSRF_HEADER]: '1' };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  before(async () => {
    store = createStore(db.config);
    await store.migrate();
    await store.insertEvents(a.messages.flatMap((m) => decodeRecord(m)));
    server = await startApiServer(config, { logger: createLogger({ name: 'web-test', level: 'warn' }), consoleDir });
    issuer = await TokenIssuer.fromConfig(config.identity);
  });

  after(async () => {
    await server?.stop(1000);
    await db.drop();
    await store?.close();
  });

  it('serves the console with a strict CSP: files read at start, the app for client routes, nothing else', async () => {
    const index = await call('GET', '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
    assert.match(String(index.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    // The page's style-src names a nonce of this response alone, the one its csp-nonce meta carries.
    const nonceOf = (r: { headers: Record<string, unknown>; body: string }) => {
      const inCsp = /style-src 'self' 'nonce-([A-Za-z0-9+/=]{24})'/.exec(String(r.headers['content-security-policy']))?.[1];
      assert.ok(inCsp, 'a nonce in style-src');
      assert.ok(r.body.includes(`nonce="${inCsp}"`), 'the same nonce in the page');
      return inCsp;
    };
    const route = await call('GET', '/sessions/abc');
    assert.notEqual(nonceOf(route), nonceOf(index), 'a new nonce per response');
    assert.equal(route.body.replace(nonceOf(route), ''), index.body.replace(nonceOf(index), ''), 'a client-side route gets the app');
    assert.match(String(route.headers['content-security-policy']), /script-src 'self';/, 'scripts take no nonce');
    const js = await call('GET', '/assets/app-1.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(String(js.headers['cache-control']), /immutable/);
    assert.equal((await call('GET', '/assets/missing.js')).status, 404);
    assert.equal((await call('GET', '/assets/../../cert.pem')).status, 404);
    assert.equal((await call('GET', '/%2e%2e/key.pem')).status, 404);
    assert.equal((await call('POST', '/', { headers: csrf })).status, 405);
  });

  it('answers the JSON API with the same operations and roles as gRPC, by bearer token', async () => {
    const soc = await issuer.issue({ subject: 'soc:w', groups: ['soc'] });
    const list = await call('GET', '/api/v1/sessions?subject=agent%3Aw', { headers: bearer(soc) });
    assert.equal(list.status, 200, list.body);
    assert.equal(list.headers['cache-control'], 'no-store');
    const grpc = createApiClient(server.address, { token: soc });
    try {
      assert.deepEqual((list.json().sessions as { sessionId: string }[]).map((s) => s.sessionId), (await grpc.listSessions({ subject: 'agent:w' })).map((s) => s.sessionId));
    } finally {
      grpc.close();
    }
    const t = (await call('GET', `/api/v1/sessions/${a.sessionId}/transcript`, { headers: bearer(soc) })).json() as { commands: { decision?: { result: string }; result: { rows: unknown[] } }[] };
    assert.deepEqual(t.commands.map((c) => c.decision?.result), ['ALLOW', 'DENY']);
    assert.deepEqual(t.commands[0]!.result.rows, [['1', 'ada@example.com'], ['2', null]]);
    const v = await call('POST', `/api/v1/sessions/${a.sessionId}/verify`, { headers: { ...bearer(soc), ...csrf }, body: {} });
    assert.equal(v.json().status, 'intact', v.body);
    const q = await call('POST', '/api/v1/query', { headers: { ...bearer(soc), ...csrf }, body: { sql: 'SELECT command_id, decision FROM commands FINAL ORDER BY command_id' } });
    assert.deepEqual((q.json().rows as { cells: { text: string }[] }[]).map((r) => r.cells.map((c) => c.text)), [['1', 'ALLOW'], ['2', 'DENY']]);
    const bad = await call('POST', '/api/v1/query', { headers: { ...bearer(soc), ...csrf }, body: { sql: "INSERT INTO events (session_id) VALUES ('x')" } });
    assert.equal(bad.status, 403);
    const missing = await call('GET', '/api/v1/sessions/missing', { headers: bearer(soc) });
    assert.equal(missing.status, 404);
    assert.match((missing.json().error as { message: string }).message, /sessions ls/);
    assert.equal((await call('GET', '/api/v1/approvals', { headers: bearer(soc) })).status, 501, 'no approvals backend: UNIMPLEMENTED');
    assert.equal((await call('GET', '/api/v1/nothing', { headers: bearer(soc) })).status, 404);
    const info = await call('GET', '/api/v1/login-info');
    assert.equal(info.status, 200, 'where to log in needs no token');
    assert.equal(info.json().browserLogin, false, 'no login.consoleClientId: token login only');
    assert.equal((await call('GET', '/api/v1/login/oidc')).status, 404);

    const approver = await issuer.issue({ subject: 'user:alice', groups: ['approvers'] });
    const refused = await call('GET', '/api/v1/sessions', { headers: bearer(approver) });
    assert.equal(refused.status, 403);
    assert.match((refused.json().error as { message: string }).message, /needs the role soc or admin: user:alice has roles approver/);
    const anonymous = await call('GET', '/api/v1/sessions');
    assert.equal(anonymous.status, 401);
    assert.equal((await call('GET', '/api/v1/sessions', { headers: bearer(`${soc}x`) })).status, 401);
  });

  it('answers the dashboard for the SOC and admins, the same over gRPC, and refuses other roles and unknown ranges', async () => {
    const soc = await issuer.issue({ subject: 'soc:w', groups: ['soc'] });
    const r = await call('GET', '/api/v1/dashboard?range=1h', { headers: bearer(soc) });
    assert.equal(r.status, 200, r.body);
    const d = r.json() as { buckets: unknown[]; totals: Record<string, number>; topIdentities: unknown[]; topDenied: { text: string }[]; services: { name: string; ok: boolean }[] } & Record<string, number>;
    assert.equal(d.buckets.length, 60);
    assert.deepEqual({ ...d.totals, startMicros: 0 }, { startMicros: 0, sessions: 1, commands: 2, denied: 1, approvals: 0, masked: 0 });
    assert.deepEqual(d.topIdentities, [{ subject: 'agent:w', sessions: 1, commands: 2, denied: 1 }]);
    assert.deepEqual(d.topDenied.map((x) => x.text), ['DELETE FROM customers']);
    assert.ok(d.newestEventMicros! > 0 && d.newestEventMicros! <= d.nowMicros!, 'the fixture\'s events are the newest');
    assert.equal(d.untilMicros! - d.sinceMicros!, 3_600_000_000);
    assert.deepEqual(d.services.map((s) => s.name), ['recording store', 'materializer', 'gateway', 'approvals worker']);
    assert.equal(d.services[0]!.ok, true);
    const week = (await call('GET', '/api/v1/dashboard?range=7d', { headers: bearer(soc) })).json() as { buckets: unknown[]; totals: { sessions: number } };
    assert.deepEqual([week.buckets.length, week.totals.sessions], [84, 1]);
    const grpc = createApiClient(server.address, { token: await issuer.issue({ subject: 'admin:w', groups: ['admins'] }) });
    try {
      const g = await grpc.dashboard('24h');
      assert.deepEqual([g.buckets.length, g.totals.commands, g.topIdentities[0]?.subject], [96, 2, 'agent:w']);
    } finally {
      grpc.close();
    }
    const bad = await call('GET', '/api/v1/dashboard?range=1y', { headers: bearer(soc) });
    assert.equal(bad.status, 400);
    assert.match((bad.json().error as { message: string }).message, /range must be one of 1h, 24h, 7d/);
    const approver = await issuer.issue({ subject: 'user:alice', groups: ['approvers'] });
    assert.equal((await call('GET', '/api/v1/dashboard', { headers: bearer(approver) })).status, 403);
    const agent = await issuer.issue({ subject: 'agent:w', groups: ['agents'] });
    assert.equal((await call('GET', '/api/v1/dashboard', { headers: bearer(agent) })).status, 403);
    assert.equal((await call('GET', '/api/v1/dashboard')).status, 401);
  });

  it('logs a person in with an HttpOnly SameSite=Strict cookie, refuses agents, and needs the CSRF header on unsafe methods', async () => {
    const soc = await issuer.issue({ subject: 'soc:w', groups: ['soc'], ttlMs: 60_000 });
    const agent = await issuer.issue({ subject: 'agent:w', groups: ['agents'] });
    const noHeader = await call('POST', '/api/v1/login', { body: { token: soc } });
    assert.equal(noHeader.status, 403);
    assert.match((noHeader.json().error as { message: string }).message, new RegExp(CSRF_HEADER));

    const refused = await call('POST', '/api/v1/login', { headers: csrf, body: { token: agent } });
    assert.equal(refused.status, 403);
    assert.match((refused.json().error as { message: string }).message, /agent:w has no console role/);
    assert.equal(refused.headers['set-cookie'], undefined);
    assert.equal((await call('POST', '/api/v1/login', { headers: csrf, body: { token: `${soc}x` } })).status, 401);

    const ok = await call('POST', '/api/v1/login', { headers: csrf, body: { token: soc } });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(ok.json().roles, ['soc']);
    const set = String(ok.headers['set-cookie']);
    assert.match(set, new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=(5\\d|60)$`));
    const cookie = { cookie: set.split(';')[0]! };
    assert.equal((await call('GET', '/api/v1/whoami', { headers: cookie })).json().subject, 'soc:w');
    assert.equal((await call('GET', '/api/v1/sessions', { headers: cookie })).status, 200);
    // A cross-site POST carries the cookie (were SameSite ignored) but never the header.
    assert.equal((await call('POST', '/api/v1/query', { headers: cookie, body: { sql: 'SELECT 1' } })).status, 403);
    assert.equal((await call('POST', '/api/v1/query', { headers: { ...cookie, ...csrf }, body: { sql: 'SELECT 1' } })).status, 200);
    assert.equal((await call('POST', '/api/v1/query', { headers: { ...cookie, ...csrf, 'content-type': 'text/plain' }, body: { sql: 'SELECT 1' } })).status, 415);
    const out = await call('POST', '/api/v1/logout', { headers: { ...cookie, ...csrf }, body: {} });
    assert.match(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0$`));
  });

  it('streams changes as server-sent events (same auth: refused without a role), and only for what the console watches', async () => {
    const soc = await issuer.issue({ subject: 'soc:live', groups: ['soc'] });
    const first = await new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.webAddress!.port, path: `/api/v1/live/sessions/${a.sessionId}`, ca, headers: bearer(soc) }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          // The state once at start: then the stream is left (it would go on while the session changes).
          if (text.includes('\n\nevent: update\n') && text.endsWith('\n\n')) {
            resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text });
            req.destroy();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(first.status, 200);
    assert.match(first.type, /^text\/event-stream/);
    const data = /event: update\ndata: (.*)\n\n/.exec(first.text)?.[1];
    assert.equal((JSON.parse(data!) as { sessionId: string }).sessionId, a.sessionId);
    assert.equal((await call('GET', '/api/v1/live/sessions')).status, 401, 'no token, no stream');
    const agent = await issuer.issue({ subject: 'agent:live', groups: ['agents'] });
    assert.equal((await call('GET', '/api/v1/live/sessions', { headers: bearer(agent) })).status, 403);
    assert.equal((await call('GET', '/api/v1/live/query', { headers: bearer(soc) })).status, 404);
  });

  it('refuses a body over 1 MiB', async () => {
    const soc = await issuer.issue({ subject: 'soc:w', groups: ['soc'] });
    const r = await call('POST', '/api/v1/query', { headers: { ...bearer(soc), ...csrf }, body: { sql: `SELECT '${randomBytes(600_000).toString('hex')}'` } });
    assert.equal(r.status, 413, r.body);
    assert.match((r.json().error as { message: string }).message, /over 1048576 bytes/);
  });
});
