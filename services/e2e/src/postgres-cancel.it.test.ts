/**
 * Cancel requests through the gateway from a libpq 18 client (psycopg's cancel_safe(): an
 * encrypted CancelRequest on a TLS connection of its own, libpq ≥ 17): the statement is cancelled
 * and the cancel connection ends cleanly (close_notify before the TCP close, where the gateway
 * once dropped the socket and libpq reported "SSL error: unexpected eof"). At each node directly
 * and through haproxy, which may carry the cancel to the other node (the cancel bus).
 * psycopg (binary, bundling libpq 18) is installed by deploy/local/install into $CACHE/venv.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { loadStack, run, type Stack } from './lib/stack.js';

const python = join(process.env['CHAPERONE_CACHE'] ?? join(homedir(), '.cache', 'chaperone'), 'venv', 'bin', 'python');
const script = fileURLToPath(new URL('./clients/psycopg_cancel.py', import.meta.url));

describe('cancel from a libpq 18 client (encrypted CancelRequest)', () => {
  let stack: Stack;
  let token: string;
  const subject = `agent:e2e-cancel-${randomBytes(4).toString('hex')}`;

  before(async () => {
    stack = loadStack();
    assert.ok(existsSync(python), `${python} is missing: run deploy/local/install (it installs psycopg there)`);
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 10 * 60_000 });
  });

  const cancelAt = async (port: number): Promise<Record<string, unknown>> => {
    const conninfo = `host=127.0.0.1 port=${port} dbname=sandbox user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`;
    const r = await run(python, [script, conninfo], { env: { ...process.env, PGPASSWORD: token } });
    assert.equal(r.code, 0, `psycopg client failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  };

  const ports = (): { name: string; port: number }[] => [
    ...stack.GATEWAY_PG_ADDRESSES!.split(',').map((a, i) => ({ name: `node ${i + 1}`, port: Number(a.split(':')[1]) })),
    { name: 'haproxy', port: Number(stack.HAPROXY_PG_PORT) },
    { name: 'haproxy again', port: Number(stack.HAPROXY_PG_PORT) },
  ];

  it('cancels the statement and ends the cancel connection cleanly, at each node and through haproxy', async () => {
    for (const { name, port } of ports()) {
      const r = await cancelAt(port);
      assert.ok(Number(r['libpq']) >= 170000, `${name}: psycopg bundles libpq ${String(r['libpq'])}, the encrypted cancel needs ≥ 17`);
      assert.deepEqual({ query: r['query'], cancel: r['cancel'], after: r['after'] }, { query: 'cancelled', cancel: 'ok', after: 'still here' }, name);
    }
  });
});
