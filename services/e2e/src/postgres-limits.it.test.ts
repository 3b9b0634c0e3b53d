/**
 * Per-connection limits the gateway sets on the upstream session (issue #3): a connection's
 * statement_timeout is set at login, so PostgreSQL itself cancels a runaway statement with
 * 57014 and the session goes on. deploy/local configures `sandbox-short` with 2 s and leaves
 * `sandbox` to the upstream's own setting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { loadStack, run, type RunResult, type Stack } from './lib/stack.js';

describe('PostgreSQL limits from config', () => {
  let stack: Stack;
  let token: string;
  const subject = `agent:e2e-limits-${randomBytes(4).toString('hex')}`;

  before(async () => {
    stack = loadStack();
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const short = config.connections.find((c) => c.name === 'sandbox-short');
    assert.equal(short?.postgres?.statementTimeoutMs, 2000, 'the stack has no sandbox-short connection with statementTimeout 2s: rerun deploy/local/up');
    token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 10 * 60_000 });
  });

  /** psql through the balancer; each -c is its own Query, and psql goes on after an error. */
  const psql = (dbname: string, ...sql: string[]): Promise<RunResult> =>
    run(
      'psql',
      [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=${dbname} user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-At', ...sql.flatMap((s) => ['-c', s])],
      { env: { ...process.env, PGPASSWORD: token, PGAPPNAME: 'e2e-limits' } },
    );

  it('sets the connection statement_timeout at login: PostgreSQL cancels a runaway statement with 57014 and the session goes on', async () => {
    const t0 = Date.now();
    const r = await psql('sandbox-short', 'SHOW statement_timeout', 'SELECT pg_sleep(30)', "SELECT 'still here'");
    const took = Date.now() - t0;
    assert.match(r.stdout, /^2s$/m);
    assert.match(r.stderr, /ERROR: {2}canceling statement due to statement timeout/);
    assert.match(r.stdout, /^still here$/m);
    assert.ok(took < 15_000, `pg_sleep(30) ran ${took} ms`);
  });

  it("leaves the upstream's own setting where none is configured", async () => {
    const r = await psql('sandbox', 'SHOW statement_timeout');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  });
});
