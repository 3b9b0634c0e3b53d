/**
 * The walking skeleton end to end, with real parts only: psql → haproxy → gateway node →
 * PostgreSQL, every frame through Kafka into ClickHouse by the materializer, read back with
 * `chaperone sessions ls | replay | sql`, and the policy deciding per statement.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { SignJWT, importPKCS8 } from 'jose';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { createStore } from '@chaperone/store';
import { createApprovalsClient } from '@chaperone/approvals';
import { agentPsql, chaperone, eventually, loadStack, run, statementLogOffset, statementLogSince, type Stack } from './lib/stack.js';

describe('walking skeleton through the load-balanced endpoint', () => {
  let stack: Stack;
  let issuer: TokenIssuer;
  const subject = `agent:e2e-${randomBytes(4).toString('hex')}`;
  let token: string;
  let logStart = 0;

  before(async () => {
    stack = loadStack();
    logStart = statementLogOffset(stack);
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    issuer = await TokenIssuer.fromConfig(config.identity);
    token = await issuer.issue({ subject, groups: ["agents"], ttlMs: 15 * 60_000 });
  });

  it('records an agent psql session and reads it back with sessions ls, replay and sql', async () => {
    const marker = `e2e-${randomBytes(6).toString('hex')}`;
    const r = await agentPsql(stack, { user: subject, token, sql: `SELECT '${marker}' AS marker, count(*) FROM customers` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${marker}\\|\\d+`));

    const session = await eventually('the session in chaperone sessions ls', async () => {
      const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      if (ls.code !== 0) throw new Error(ls.stderr);
      const rows = JSON.parse(ls.stdout) as { sessionId: string; endReason?: string }[];
      return rows.find((s) => s.endReason) ?? undefined;
    });

    const replay = await chaperone(stack, ['replay', session.sessionId]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`SELECT '${marker}' AS marker`));
    assert.match(replay.stdout, new RegExp(marker), 'the result row is in the transcript');
    assert.match(replay.stdout, new RegExp(subject));

    const count = await chaperone(stack, ['sql', `SELECT count() AS n FROM events WHERE session_id = '${session.sessionId}'`, '--format', 'json']);
    assert.equal(count.code, 0, count.stderr);
    const n = Number((JSON.parse(count.stdout) as { rows: { n: string }[] }).rows[0]!.n);
    assert.ok(n >= 8, `expected the session's frames as events, got ${n}`);

    const verify = await chaperone(stack, ['verify', session.sessionId, '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('refuses a DROP on the prod connection with the policy reason; it never reaches upstream', async () => {
    const table = `e2e_drop_${randomBytes(4).toString('hex')}`;
    const r = await agentPsql(stack, { user: subject, token, sql: `DROP TABLE ${table}` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied by policy/);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(!statementLogSince(stack, logStart).includes(table), 'the DROP must not appear in the upstream statement log');
  });

  it('refuses a wrong, a tampered and an expired token with a clear error and nothing upstream', async () => {
    const marker = `e2e_refused_${randomBytes(4).toString('hex')}`;
    const sql = `SELECT '${marker}'`;
    const wrong = await agentPsql(stack, { user: subject, token: 'not-a-token', sql });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /chaperone: .*token/i);

    const tampered = await agentPsql(stack, { user: subject, token: `${token.slice(0, -4)}AAAA`, sql });
    assert.notEqual(tampered.code, 0);
    assert.match(tampered.stderr, /chaperone: /);

    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const key = await importPKCS8(readFileSync(config.identity.signingKeyFile, 'utf8'), 'EdDSA');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ groups: ['agents'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(subject)
      .setIssuer(config.identity.issuer)
      .setAudience(config.identity.audience)
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .setJti('expired')
      .sign(key);
    const old = await agentPsql(stack, { user: subject, token: expired, sql });
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /expired/i);

    const plaintext = await agentPsql(stack, { user: subject, token, sql, sslmode: 'disable' });
    assert.notEqual(plaintext.code, 0);
    assert.match(plaintext.stderr, /TLS/);

    await new Promise((res) => setTimeout(res, 300));
    assert.ok(!statementLogSince(stack, logStart).includes(marker), 'refused sessions must not reach upstream');
  });

  it('never lets the upstream password reach an event or a log line', async () => {
    const password = stack.PG_UPSTREAM_PASSWORD!;
    assert.ok(password.length >= 12);
    assert.match(password, /^[A-Za-z0-9_-]+$/, 'the check below quotes the password as a SQL literal');
    // Searched here, not with SQL: a query holding the password would put it in ClickHouse's log.
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const store = createStore(config.clickhouse);
    try {
      const sessions = await store.listSessions({ subject, limit: 100 });
      assert.ok(sessions.length > 0);
      const needle = Buffer.from(password);
      for (const s of sessions)
        for await (const e of store.iterateSessionEvents(s.sessionId))
          assert.ok(!e.payload.includes(needle) && !e.avro.includes(needle), `event ${s.sessionId}#${e.seq} holds the upstream password`);
    } finally {
      await store.close();
    }
    const logDir = `${stack.CHAPERONE_RUN_DIR}/logs`;
    for (const f of readdirSync(logDir).filter((f) => !f.startsWith('postgres'))) {
      assert.ok(!readFileSync(`${logDir}/${f}`, 'utf8').includes(password), `${f} contains the upstream password`);
    }
  });

  it('reaches the Temporal dev server: the approvals worker runs a workflow and its activity', async () => {
    const client = await createApprovalsClient(loadConfig(stack.CHAPERONE_CONFIG).temporal);
    try {
      const pong = await client.ping('e2e', { timeoutMs: 30_000 });
      assert.ok(pong, 'the ping workflow returned');
    } finally {
      await client.close();
    }
  });

  it('answers health and metrics on every service and routes through haproxy to both nodes', async () => {
    for (const addr of stack.GATEWAY_HTTP_ADDRESSES!.split(',')) {
      assert.equal((await fetch(`http://${addr}/healthz`)).status, 200);
      assert.match(await (await fetch(`http://${addr}/metrics`)).text(), /chaperone_pg_sessions_total/);
    }
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    for (const [name, hp] of [['materializer', config.materializer.http], ['api', config.api.http], ['approvals-worker', config.temporal.http]] as const)
      assert.equal((await fetch(`http://${hp.host}:${hp.port}/healthz`)).status, 200, `${name} health`);
    const stats = await run('curl', ['-sf', stack.HAPROXY_METRICS_URL!]);
    assert.equal(stats.code, 0);
  });
});
