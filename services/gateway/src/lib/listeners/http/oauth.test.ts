/**
 * OAuth client credentials towards an MCP server (issue #15), against a real authorization
 * server: deploy/local's oidc-provider (deploy/local/oidc/server.mjs, installed under the cache
 * by deploy/local/install) with its confidential client chaperone-gateway. The upstream accepts
 * only tokens the provider's introspection says are active; the gateway gets one, caches it,
 * renews it before it expires, and never records it; a refused secret is a clean JSON-RPC error.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startHarness, startUpstream, type Harness, type Upstream } from './harness.js';

const LOCAL = fileURLToPath(new URL('../../../../../../deploy/local/', import.meta.url));
const SECRET = 'gateway-client-secret-for-the-test';

/** The oidc-provider install deploy/local/install made (its pinned version from versions.sh). */
function oidcModuleDir(): string {
  const version = /^OIDC_PROVIDER_VERSION=(\S+)/m.exec(readFileSync(join(LOCAL, 'versions.sh'), 'utf8'))?.[1];
  const dir = join(process.env.CHAPERONE_CACHE ?? join(homedir(), '.cache/chaperone'), `oidc-provider-${version}`);
  if (!existsSync(join(dir, 'node_modules/oidc-provider/package.json'))) throw new Error(`oidc-provider is not installed at ${dir}: run deploy/local/install`);
  return dir;
}

function post(h: Harness, token: string, prefix: string, id: number): Promise<{ status: number; body: string }> {
  const data = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { n: id } } });
  return new Promise((resolve, reject) => {
    const r = request(`${h.base}${prefix}`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', reject);
    r.end(data);
  });
}

describe('HTTP listener: OAuth client credentials towards an MCP server', () => {
  let provider: ChildProcess;
  let issuer: string;
  let up: Upstream;
  let h: Harness;
  let token: string;
  /** Every bearer token the upstream saw, and whether the provider said it was active. */
  const seen: { token: string; active: boolean }[] = [];

  before(async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    provider = spawn('node', [join(LOCAL, 'oidc/server.mjs'), oidcModuleDir(), String(port)], { env: { ...process.env, OIDC_GATEWAY_CLIENT_SECRET: SECRET, OIDC_CLIENT_CREDENTIALS_TTL: '4' }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      provider.stdout!.once('data', () => resolve());
      provider.once('exit', (code) => reject(new Error(`oidc-provider exited (${code})`)));
    });
    issuer = `http://127.0.0.1:${port}`;
    up = await startUpstream((req, res) => {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      void fetch(`${issuer}/token/introspection`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`chaperone-gateway:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: bearer }) })
        .then((r) => r.json() as Promise<{ active: boolean }>)
        .then(({ active }) => {
          seen.push({ token: bearer, active });
          const id = (JSON.parse(req.body.toString()) as { id: number }).id;
          if (!active) return void res.writeHead(401).end();
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } }));
        });
    });
    const oauth = (secret: string) => ({ type: 'oauthClientCredentials' as const, tokenUrl: `${issuer}/token`, clientId: 'chaperone-gateway', clientSecret: { value: secret }, scope: 'mcp', refreshBefore: '3s' });
    h = await startHarness([
      { name: 'tools', protocol: 'http', http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp/', credentials: oauth(SECRET) } },
      { name: 'tools-bad', protocol: 'http', http: { upstream: up.url, kind: 'mcp', pathPrefix: '/mcp-bad/', credentials: oauth('wrong') } },
    ]);
    token = await h.token();
  });
  after(async () => {
    await h.close();
    up.server.close();
    provider.kill();
  });

  it('obtains a token, reuses it, renews it before it expires, and never records it', async () => {
    for (const id of [1, 2]) assert.equal((await post(h, token, '/mcp/', id)).status, 200);
    assert.equal(seen.length, 2);
    assert.ok(seen.every((s) => s.active), 'the upstream accepted the token');
    assert.equal(seen[0]!.token, seen[1]!.token, 'cached between calls');
    // Lifetime 4 s, renewed 3 s before: a call a second later carries a new token (polled, not slept).
    for (let id = 3; id < 200 && seen.at(-1)!.token === seen[0]!.token; id++) {
      assert.equal((await post(h, token, '/mcp/', id)).status, 200);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(seen.at(-1)!.token, seen[0]!.token, 'renewed before it expired');
    assert.ok(seen.every((s) => s.active), 'no call ever went up with an expired token');
    const recorded = Buffer.concat(h.sink.published.map((e) => e.body));
    for (const s of seen) assert.ok(!recorded.includes(s.token), 'the access token is not in the recording');
  });

  it('answers a JSON-RPC error when the token endpoint refuses the client, nothing forwarded', async () => {
    const before = seen.length;
    const r = await post(h, token, '/mcp-bad/', 1);
    assert.equal(r.status, 502);
    assert.match(r.body, /refused the client credentials of connection tools-bad \(invalid_client/);
    assert.equal(seen.length, before);
  });
});
