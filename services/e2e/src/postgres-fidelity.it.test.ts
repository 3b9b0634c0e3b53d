/**
 * PostgreSQL protocol fidelity through the load-balanced endpoint with recording on, using
 * real clients (psql, pgbench, pg_dump, node-postgres, postgres.js), then the ground-truth
 * check: every statement the upstream executed is recorded exactly once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import postgres from 'postgres';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { checkLoss, lossFree, type LossReport } from '@chaperone/loadtest';
import { createStore, type Store } from '@chaperone/store';
import { agentPsql, eventually, loadStack, run, statementLogOffset, statementLogSince, type Stack } from './lib/stack.js';

describe('PostgreSQL fidelity through haproxy and two gateway nodes', () => {
  let stack: Stack;
  let store: Store;
  let token: string;
  /** Same subject, also in pii-readers: a dump that must restore needs unmasked unique emails. */
  let piiToken: string;
  let logStart = 0;
  const subject = `agent:pgfid-${randomBytes(4).toString('hex')}`;
  const since = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-e2e-'));
  const conninfo = (db: string) =>
    `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=${db} user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`;
  const env = () => ({ ...process.env, PGPASSWORD: token, PGAPPNAME: 'e2e-fidelity' });

  before(async () => {
    stack = loadStack();
    logStart = statementLogOffset(stack);
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    const issuer = await TokenIssuer.fromConfig(config.identity);
    token = await issuer.issue({ subject, groups: ['agents'], ttlMs: 30 * 60_000 });
    piiToken = await issuer.issue({ subject, groups: ['agents', 'pii-readers'], ttlMs: 30 * 60_000 });
    store = createStore(config.clickhouse);
  });
  after(async () => {
    await store?.close();
  });

  it('psql: \\d and \\copy out of the prod connection, \\copy into the sandbox', async () => {
    const d = await agentPsql(stack, { user: subject, token, sql: '\\d customers' });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /email/);
    const csv = join(dir, 'customers.csv');
    const out = await agentPsql(stack, { user: subject, token, sql: `\\copy (SELECT id, email FROM customers ORDER BY id) TO '${csv}' CSV` });
    assert.equal(out.code, 0, out.stderr);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.ok(lines.length >= 100);
    const table = `copy_in_${randomBytes(3).toString('hex')}`;
    const create = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: `CREATE TABLE ${table} (id int, email text)` });
    assert.equal(create.code, 0, create.stderr);
    const copyIn = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: `\\copy ${table} FROM '${csv}' CSV` });
    assert.equal(copyIn.code, 0, copyIn.stderr);
    const count = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: `SELECT count(*) FROM ${table}` });
    assert.equal(count.stdout.trim(), String(lines.length));
  });

  it('decides fastpath function calls: psql \\lo_import works on the sandbox, is refused on prod', async () => {
    const file = join(dir, 'blob.txt');
    writeFileSync(file, 'large object through the gateway\n');
    const ok = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: `\\lo_import ${file}` });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /lo_import \d+/);
    const refused = await agentPsql(stack, { user: subject, token, sql: `\\lo_import ${file}` });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /fastpath-in-prod/);
  });

  it('pgbench -i and pgbench -M simple|extended|prepared -c 8', async () => {
    const init = await run('pgbench', ['-i', '-s', '1', '-q', conninfo('sandbox')], { env: env(), timeout: 180_000 });
    assert.equal(init.code, 0, init.stderr);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await run('pgbench', ['-n', '-M', mode, '-c', '8', '-j', '2', '-T', '4', conninfo('sandbox')], { env: env(), timeout: 120_000 });
      assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
      assert.match(r.stdout, /number of failed transactions: 0/);
    }
  });

  it('pg_dump of the demo database restores into the sandbox through the gateway', async () => {
    const dump = await run('pg_dump', ['--no-owner', '--no-privileges', '--clean', '--if-exists', '-t', 'customers', '-t', 'products', conninfo('demo')], {
      env: { ...env(), PGPASSWORD: piiToken },
    });
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /COPY public\.customers/);
    const file = join(dir, 'dump.sql');
    writeFileSync(file, dump.stdout);
    const restore = await run('psql', [conninfo('sandbox'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], { env: env() });
    assert.equal(restore.code, 0, restore.stderr);
    const a = await agentPsql(stack, { user: subject, token, sql: 'SELECT count(*), sum(id) FROM customers' });
    const b = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: 'SELECT count(*), sum(id) FROM customers' });
    assert.equal(b.stdout, a.stdout);
  });

  it('node-postgres extended queries and postgres.js pipelined queries', async () => {
    const ssl = { ca: readFileSync(stack.TLS_CA_FILE!, 'utf8'), servername: 'localhost' };
    const client = new pg.Client({ host: '127.0.0.1', port: Number(stack.HAPROXY_PG_PORT), database: 'demo', user: subject, password: token, ssl });
    await client.connect();
    try {
      for (let i = 0; i < 20; i++) {
        const r = await client.query<{ n: number }>({ name: i % 2 ? 'by-customer' : undefined, text: 'SELECT $1::int AS n, count(*) AS c FROM orders WHERE customer_id > $1', values: [i] });
        assert.equal(r.rows[0]!.n, i);
      }
      await assert.rejects(client.query('DROP TABLE orders'), /denied by policy/);
      assert.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'the session goes on after a denial');
    } finally {
      await client.end();
    }
    const sql = postgres({ host: '127.0.0.1', port: Number(stack.HAPROXY_PG_PORT), database: 'demo', username: subject, password: token, ssl, max: 1 });
    try {
      const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => sql`SELECT ${i}::int AS n, ${`v${i}`}::text AS v`));
      rows.forEach((r, i) => assert.deepEqual([r[0]!.n, r[0]!.v], [i, `v${i}`]));
    } finally {
      await sql.end();
    }
  });

  it('relays a CancelRequest that arrives through the load balancer to the right backend', async () => {
    // psql sends a CancelRequest (a new connection to the same host:port) on SIGINT; haproxy
    // may hand it to either gateway node.
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = Date.now();
      const p = spawn('psql', [conninfo('demo'), '-X', '-c', 'SELECT pg_sleep(30)'], { env: env() });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => p.kill('SIGINT'), 2000 + attempt * 300);
      const code = await new Promise<number>((resolve) => p.on('close', (c) => resolve(c ?? -1)));
      clearTimeout(timer);
      assert.notEqual(code, 0);
      assert.match(stderr, /canceling statement due to user request/);
      assert.ok(Date.now() - started < 15_000, 'the cancel must end the statement early');
    }
  });

  it('a refused statement fails its transaction as an error would: later statements get 25P02 and COMMIT rolls back', async () => {
    const ssl = { ca: readFileSync(stack.TLS_CA_FILE!, 'utf8'), servername: 'localhost' };
    const client = new pg.Client({ host: '127.0.0.1', port: Number(stack.HAPROXY_PG_PORT), database: 'sandbox', user: subject, password: token, ssl });
    await client.connect();
    const table = `tx_abort_${randomBytes(3).toString('hex')}`;
    const count = async () => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    try {
      await client.query(`CREATE TABLE ${table} (id int)`);
      // Simple protocol.
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} VALUES (1)`);
      await assert.rejects(client.query("SELECT pg_read_file('/etc/passwd')"), (err: pg.DatabaseError) => {
        assert.equal(err.code, '42501');
        assert.match(err.message, /^chaperone: denied by policy: calling pg_read_file\(\) is not allowed/);
        return true;
      });
      await assert.rejects(client.query('SELECT 1'), (err: pg.DatabaseError) => err.code === '25P02');
      assert.equal((await client.query('COMMIT')).command, 'ROLLBACK');
      assert.equal(await count(), 0, 'the INSERT before the refusal was rolled back');
      // Extended protocol (bound parameters).
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} VALUES ($1)`, [2]);
      await assert.rejects(client.query('SELECT pg_read_file($1)', ['/etc/passwd']), (err: pg.DatabaseError) => {
        assert.equal(err.code, '42501');
        assert.match(err.message, /denied by policy: calling pg_read_file\(\)/);
        return true;
      });
      // (No statement in between: PostgreSQL refuses a Parse in an aborted transaction before
      // logging it, and the ground-truth check below would count it as allowed but not executed.)
      assert.equal((await client.query('COMMIT')).command, 'ROLLBACK');
      assert.equal(await count(), 0);
      // Outside a transaction block a refusal changes nothing, and the next statement runs.
      await assert.rejects(client.query("SELECT pg_read_file('/etc/passwd')"), /denied by policy/);
      await client.query(`INSERT INTO ${table} VALUES (3)`);
      assert.equal(await count(), 1);
      await client.query(`DROP TABLE ${table}`);
    } finally {
      await client.end();
    }
  });

  it('ground truth: every statement the upstream executed is recorded exactly once', async () => {
    let report: LossReport | undefined;
    await eventually(
      'the recordings to account for every executed statement',
      async () => {
        report = await checkLoss({ store, statementLog: statementLogSince(stack, logStart), sinceMs: since, upstreamUser: 'chaperone_upstream', subjects: [subject] });
        return lossFree(report) ? report : undefined;
      },
      60_000,
    ).catch(() => undefined);
    assert.ok(report, 'no report');
    assert.ok(report.executed > 1000, `expected the pgbench statements, got ${report.executed}`);
    assert.deepEqual({ missing: report.missing.slice(0, 5), unexecuted: report.unexecuted.slice(0, 5), deniedButExecuted: report.deniedButExecuted, unsealed: report.unsealed.slice(0, 5) }, { missing: [], unexecuted: [], deniedButExecuted: [], unsealed: [] });
  });
});
