/**
 * Graceful drain of a gateway node (SIGTERM): /healthz turns 503 and haproxy takes the node out
 * before it stops accepting, so new connections through haproxy keep succeeding (on the other
 * node); a session that finishes within gateway.drainTimeout finishes normally; one still
 * running at the deadline ends with FATAL 57P01; both are sealed; the node exits; then it is
 * started again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { loadConfig, type Config } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { adminReader, checkRun, componentPid, deployLocal, formatLossReport, readLogFrom, logOffset, waitHealthy } from '@chaperone/loadtest';
import { createHttpExecutor } from '@chaperone/store';
import { eventually, loadStack, type Stack } from './lib/stack.js';
import { errorMessage } from '@chaperone/observability';

const NODE = 'gateway-2';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function haproxyStatus(stack: Stack, server: string): Promise<string> {
  const csv = await (await fetch(`${stack.HAPROXY_STATS_URL};csv`)).text();
  return csv.split('\n').find((l) => l.startsWith(`gateways,${server},`))?.split(',')[17] ?? 'missing';
}

describe('graceful drain of a gateway node', { timeout: 240_000 }, () => {
  let stack: Stack;
  let config: Config;
  let token: string;
  const subject = `agent:drain-${randomBytes(3).toString('hex')}`;
  const app = `e2e-drain-${randomBytes(3).toString('hex')}`;
  const since = Date.now();
  let logFrom = 0;
  let ca: Buffer;

  const client = (port: number, database = 'demo') =>
    new pg.Client({ host: '127.0.0.1', port, user: subject, password: token, database, application_name: app, ssl: { ca, rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });

  before(async () => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
    ca = readFileSync(stack.TLS_CA_FILE!);
    token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 30 * 60_000 });
    await waitHealthy(120_000, ['gateway-1', NODE, 'haproxy']);
    logFrom = logOffset(stack.PG_STATEMENT_LOG!);
  });

  after(async () => {
    await deployLocal('up', ['--only', NODE, '--quiet']);
    await waitHealthy(120_000, [NODE, 'haproxy']);
  });

  it('takes the node out of haproxy, lets a short session finish, ends a long one with 57P01 at the deadline, and exits', async () => {
    const nodePort = Number(stack.GATEWAY_PG_ADDRESSES!.split(',')[1]!.split(':')[1]);
    const pid = componentPid(stack, NODE);

    // Two sessions on the node that will drain: a long one that never stops on its own, and a short one.
    const long = client(nodePort);
    const short = client(nodePort);
    long.on('error', () => undefined);
    await long.connect();
    await short.connect();
    let longRan = 0;
    const longDone = (async () => {
      for (;;) {
        try {
          await long.query('SELECT pg_sleep(0.25)');
          longRan++;
        } catch (err) {
          return { err: err as Error & { code?: string }, at: Date.now() };
        }
      }
    })();

    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');

    // The short session goes on working during the drain and ends normally.
    for (let i = 0; i < 5; i++) assert.equal((await short.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    await short.end();

    // New connections through haproxy succeed all through the drain, also before haproxy noticed.
    const failures: string[] = [];
    let outAt = 0;
    while (Date.now() - t0 < 8000) {
      if (!outAt && (await haproxyStatus(stack, 'gw-2')).startsWith('DOWN')) outAt = Date.now();
      const c = client(Number(stack.HAPROXY_PG_PORT));
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.query('SELECT 2 AS two');
        await c.end();
      } catch (err) {
        failures.push(`${Date.now() - t0} ms: ${errorMessage(err)}`);
        await c.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(outAt > 0, 'haproxy marked gw-2 down within 8 s of SIGTERM');
    assert.deepEqual(failures, [], 'connections through haproxy during the drain all succeeded');

    // The long session is ended at gateway.drainTimeout with the shutdown error, not before.
    const { err, at } = await longDone;
    assert.equal(err.code, '57P01', `${err.code}: ${err.message}`);
    assert.match(err.message, /shutting down; reconnect/);
    assert.ok(at - t0 >= config.gateway.drainTimeoutMs - 1000, `ended after ${at - t0} ms, drainTimeout is ${config.gateway.drainTimeoutMs} ms`);
    assert.ok(longRan > 10, 'the long session kept running during the drain');
    await long.end().catch(() => undefined);
    await eventually('the drained node to exit', () => Promise.resolve(alive(pid) ? undefined : true), 30_000);

    // Everything recorded and sealed; the drained node's sessions end 'drain' and 'client-terminate'.
    const exec = createHttpExecutor(config.clickhouse);
    try {
      const store = adminReader(exec);
      const inputs = { store, sinceMs: since, subjects: [subject], postgres: { statementLog: readLogFrom(stack.PG_STATEMENT_LOG!, logFrom), upstreamUser: stack.PG_UPSTREAM_USER!, applicationName: app } };
      const report = await eventually('the loss check to pass', async () => {
        const r = await checkRun({ ...inputs, postgres: { ...inputs.postgres, statementLog: readLogFrom(stack.PG_STATEMENT_LOG!, logFrom) } });
        return r.ok ? r : undefined;
      }, 60_000).catch(async () => assert.fail(formatLossReport(await checkRun(inputs))));
      assert.equal(report.sessions.sealed, report.sessions.total);
      const rows = await store.query(
        `SELECT node_id, argMax(end_reason, version) AS reason, min(started_micros) AS started FROM ${store.database}.sessions WHERE subject = '${subject}' GROUP BY session_id, node_id ORDER BY started`,
        { readonly: true },
      );
      const byNode = rows.rows.map((r) => `${r[0]} ${r[1]}`);
      assert.deepEqual(byNode.slice(0, 2).sort(), ['gw-2 client-terminate', 'gw-2 drain']);
      // Connections made after haproxy took gw-2 out all went to gw-1.
      const late = rows.rows.filter((r) => Number(r[2]) / 1000 > outAt).map((r) => r[0]);
      assert.ok(late.length > 0 && late.every((n) => n === 'gw-1'), `late sessions on ${late.join(',')}`);
    } finally {
      await exec.close();
    }
  });
});
