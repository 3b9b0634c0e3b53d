/**
 * Just-in-time approval end to end (issue #6), with real parts: psql → haproxy → gateway node
 * → the approval workflow on the Temporal dev server (the stack's approvals worker) → a Slack
 * prompt posted through @slack/web-api to a local stand-in of the Slack Web API (started here,
 * on the port the stack's configuration names) → clicks signed exactly as Slack signs them,
 * sent to the worker's interactivity endpoint → the held statement runs upstream, or not.
 * Every DELETE runs inside BEGIN … ROLLBACK, so the demo data stays as it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { blocksText, buttonClick, denyReasonSubmission, sendInteraction, startSlackStandIn, type SlackCall, type SlackStandIn } from '@chaperone/approvals/testing';
import { loadConfig, type Config } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { chaperone, eventually, loadStack, repoRoot, run, statementLogOffset, statementLogSince, type Stack } from './lib/stack.js';

const ALICE = 'U0LOCALALICE';
const CAROL = 'U0LOCALCAROL';
const MALLORY = 'U0LOCALMALLORY';

describe('just-in-time approval through Slack', () => {
  let stack: Stack;
  let logStart = 0;
  let config: Config;
  let slack: SlackStandIn;
  let endpoint: string;
  let secret: string;
  let issuer: TokenIssuer;
  const subject = `agent:e2e-approvals-${randomBytes(4).toString('hex')}`;
  let token: string;

  before(async () => {
    stack = loadStack();
    logStart = statementLogOffset(stack);
    config = loadConfig(stack.CHAPERONE_CONFIG);
    const s = config.approvals.slack;
    assert.ok(s, 'the stack configuration has no approvals.slack block: rerun deploy/local/up');
    secret = s.signingSecret;
    endpoint = `http://${s.interactivity.host}:${s.interactivity.port}`;
    slack = await startSlackStandIn({ port: Number(new URL(s.apiUrl).port), botToken: s.botToken });
    issuer = await TokenIssuer.fromConfig(config.identity);
    // db-writers may write to production at all; an unbounded DELETE still needs approval.
    token = await issuer.issue({ subject, groups: ['agents', 'db-writers'], ttlMs: 15 * 60_000 });
  });

  after(async () => {
    await slack?.close();
  });

  /** psql through the balancer: BEGIN; <sql>; ROLLBACK — each its own Query message. */
  const psql = (sql: string, o: { user?: string; token?: string; app: string }) =>
    run(
      'psql',
      [
        `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${o.user ?? subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`,
        '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN', '-c', sql, '-c', 'ROLLBACK',
      ],
      { env: { ...process.env, PGPASSWORD: o.token ?? token, PGAPPNAME: o.app } },
    );
  const app = () => `e2e-appr-${randomBytes(4).toString('hex')}`;
  const ranUpstream = (appName: string, sql: string) => statementLogSince(stack, logStart).includes(`app=${appName} LOG:  statement: ${sql}`);
  /** An extended-protocol execution in the upstream's log (log_statement=all logs Execute, not Parse). */
  const executedUpstream = (appName: string, sql: string) => new RegExp(`app=${appName} LOG:  execute [^:]*: ${sql.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')}`).test(statementLogSince(stack, logStart));
  /** node-postgres: a parameterized query goes as Parse/Bind/Describe/Execute/Sync. */
  const pgClient = async (appName: string, port = Number(stack.HAPROXY_PG_PORT)) => {
    const c = new pg.Client({ host: '127.0.0.1', port, database: 'demo', user: subject, password: token, application_name: appName, ssl: { ca: readFileSync(stack.TLS_CA_FILE!), rejectUnauthorized: true }, connectionTimeoutMillis: 10_000 });
    await c.connect();
    return c;
  };
  /** The session ids of an application_name's sessions, once materialized. */
  const sessionsOf = (appName: string) =>
    eventually(`the sessions of ${appName}`, async () => {
      const q = await chaperone(stack, ['sql', `SELECT session_id FROM sessions FINAL WHERE subject = '${subject}' AND position(attributes, '${appName}') > 0`, '--format', 'json']);
      const rows = (JSON.parse(q.stdout) as { rows: { session_id: string }[] }).rows;
      return rows.length > 0 ? rows.map((r) => `'${r.session_id}'`).join(',') : undefined;
    });
  const isPrompt = (c: SlackCall, text: string) => c.args.thread_ts === undefined && blocksText(c.args).includes(text);
  const approvalIdOf = (c: SlackCall) => /"value":"(approval-[0-9a-f]{64})"/.exec(JSON.stringify(c.args.blocks))![1]!;
  const prompt = async (text: string) => approvalIdOf(await slack.waitFor('chat.postMessage', (c) => isPrompt(c, text), 30_000));
  const click = (user: string, id: string, action: 'approve' | 'deny' = 'approve', opts = {}) => sendInteraction(endpoint, secret, buttonClick({ slackUserId: user, approvalId: id, action }), opts);
  const told = (user: string, re: RegExp) => slack.waitFor('chat.postEphemeral', (c) => c.args.user === user && re.test(String(c.args.text)));
  const stillWaiting = async (p: Promise<unknown>, ms = 1000) => assert.equal(await Promise.race([p.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), ms))]), 'waiting');
  const binding = (sub: string, sql: string) => createHash('sha256').update(JSON.stringify(['chaperone-approval-v1', sub, 'demo', sql])).digest('hex');

  it('holds DELETE FROM orders; refuses bad clicks; a signed click from an approver releases it and it runs', async () => {
    const a = app();
    const held = psql('DELETE FROM orders', { app: a });
    const id = await prompt(subject);
    assert.equal(id, `approval-${binding(subject, 'DELETE FROM orders')}`, 'bound to the exact SQL text, subject and connection (computed here independently of the contract package)');
    await stillWaiting(held);
    assert.ok(!ranUpstream(a, 'DELETE FROM orders'), 'nothing reaches upstream before the approval');

    assert.equal((await click(ALICE, id, 'approve', { signature: `v0=${'0'.repeat(64)}` })).status, 401, 'bad signature');
    assert.equal((await click(ALICE, id, 'approve', { timestamp: Math.floor(Date.now() / 1000) - 600 })).status, 401, 'old timestamp');
    assert.equal((await click(MALLORY, id)).status, 200);
    await told(MALLORY, /not in an approver group/);
    assert.equal((await click('U0NOBODY', id)).status, 200);
    await told('U0NOBODY', /not mapped to an approver identity/);
    await stillWaiting(held, 500);
    assert.ok(!ranUpstream(a, 'DELETE FROM orders'));

    const t0 = Date.now();
    assert.equal((await click(ALICE, id)).status, 200);
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^DELETE \d+$/m);
    assert.match(r.stderr, new RegExp(`NOTICE:  chaperone: waiting for approval ${id} from dba or sre-oncall`));
    assert.match(r.stderr, /approved by user:alice \(slack:U0LOCALALICE\)/);
    assert.ok(ranUpstream(a, 'DELETE FROM orders'));
    assert.ok(Date.now() - t0 < 5000);
    await slack.waitFor('chat.update', (c) => blocksText(c.args).includes(id) && blocksText(c.args).includes('Approved'));
  });

  it('a retry of the same statement after approval runs without a new prompt; a different statement asks again', async () => {
    const prompts = () => slack.calls.filter((c) => c.method === 'chat.postMessage' && isPrompt(c, subject)).length;
    const before = prompts();
    const a = app();
    const retry = await psql('DELETE FROM orders', { app: a });
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stderr, /approved earlier by user:alice/);
    assert.ok(ranUpstream(a, 'DELETE FROM orders'));
    assert.equal(prompts(), before, 'no new prompt');

    const b = app();
    const other = psql('delete from orders', { app: b });
    const id = await prompt('delete from orders');
    assert.notEqual(id, `approval-${binding(subject, 'DELETE FROM orders')}`);
    // Deny asks for a reason in a dialog; the agent gets it.
    assert.equal((await click(ALICE, id, 'deny')).status, 200);
    await slack.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(id));
    const submitted = await sendInteraction(endpoint, secret, denyReasonSubmission({ slackUserId: ALICE, approvalId: id, reason: 'add a WHERE clause' }));
    assert.equal(submitted.status, 200);
    const r = await other;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`approval ${id} was denied by user:alice \\(slack:U0LOCALALICE\\): add a WHERE clause`));
    assert.ok(!ranUpstream(b, 'delete from orders'));
  });

  it('refuses the requester approving its own statement; an approver answers through the CLI instead', async () => {
    const carol = await issuer.issue({ subject: 'user:carol', groups: ['dba', 'db-writers'], ttlMs: 15 * 60_000 });
    const sql = `DELETE FROM orders -- e2e ${randomBytes(4).toString('hex')}`;
    const a = app();
    const held = psql(sql, { user: 'user:carol', token: carol, app: a });
    const id = await prompt(sql);
    await click(CAROL, id);
    await told(CAROL, /self-approval is not allowed/);
    await stillWaiting(held, 500);

    const ls = await chaperone(stack, ['approvals', 'ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok((JSON.parse(ls.stdout) as { approvalId: string }[]).some((x) => x.approvalId === id));
    // People answer through the API as who their token says (no --as): carol's own token.
    const self = await chaperone(stack, ['approvals', 'approve', id.slice(0, 20), '--token', carol]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /self-approval is not allowed/);
    const show = await chaperone(stack, ['approvals', 'show', id, '--json']);
    assert.equal((JSON.parse(show.stdout) as { refused: unknown[] }).refused.length, 2);

    const alice = await issuer.issue({ subject: 'user:alice', groups: ['dba'], ttlMs: 5 * 60_000 });
    const ok = await chaperone(stack, ['approvals', 'approve', id, '--token', alice, '--reason', 'e2e']);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(ranUpstream(a, sql));
  });

  it('loses no approval when the approvals worker is killed mid-wait and started again', async () => {
    const sql = `DELETE FROM orders -- e2e restart ${randomBytes(4).toString('hex')}`;
    const a = app();
    const held = psql(sql, { app: a });
    const id = await prompt(sql);
    const restart = await run(`${repoRoot}deploy/local/restart`, ['approvals-worker'], { timeout: 120_000 });
    assert.equal(restart.code, 0, restart.stdout + restart.stderr);
    await stillWaiting(held, 200);
    assert.equal((await click(ALICE, id)).status, 200);
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(ranUpstream(a, sql));
  });

  it('holds a parameterized statement from node-postgres (extended protocol) until approved; its Command carries the bound value', async () => {
    const a = app();
    const bound = `e2e-bound-${randomBytes(4).toString('hex')}`;
    const client = await pgClient(a);
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      await client.query('BEGIN');
      // An UPDATE without WHERE needs approval; this one changes nothing (and is rolled back).
      const sql = 'UPDATE orders SET status = status || substr($1, 1, 0)';
      const held = client.query(sql, [bound]);
      const id = await prompt(sql);
      assert.equal(id, `approval-${binding(subject, sql)}`, 'bound to the SQL text, not to the values');
      await stillWaiting(held);
      assert.ok(!executedUpstream(a, sql), 'nothing of the batch reached upstream before the approval');
      assert.equal((await click(ALICE, id)).status, 200);
      const r = await held;
      assert.equal(r.command, 'UPDATE');
      assert.ok(executedUpstream(a, sql));
      assert.ok(notices.some((n) => n.includes(`waiting for approval ${id}`)), notices.join(' | '));
      assert.ok(notices.some((n) => n.includes('approved by user:alice (slack:U0LOCALALICE)')), notices.join(' | '));
      // The same statement with other values: approved earlier, runs at once.
      assert.equal((await client.query(sql, ['other'])).command, 'UPDATE');
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
    const ids = await sessionsOf(a);
    const rows = await eventually('the Command with its bound value, and its approval', async () => {
      const q = await chaperone(stack, ['sql', `SELECT type, command_id, position(avro, '${bound}') > 0 AS bound FROM events WHERE session_id IN (${ids}) AND type IN ('Command', 'ApprovalRequested', 'ApprovalResolved') ORDER BY seq`, '--format', 'json']);
      const got = (JSON.parse(q.stdout) as { rows: { type: string; command_id: string; bound: string | number }[] }).rows;
      return got.filter((x) => x.type !== 'Command' || Number(x.bound) === 1).length >= 3 ? got : undefined;
    });
    const cmd = rows.find((x) => x.type === 'Command' && Number(x.bound) === 1)!;
    assert.ok(rows.some((x) => x.type === 'ApprovalRequested' && x.command_id === cmd.command_id), JSON.stringify(rows));
    assert.ok(rows.some((x) => x.type === 'ApprovalResolved' && x.command_id === cmd.command_id), JSON.stringify(rows));
  });

  it('a denied extended statement gets the error in place and the session goes on', async () => {
    const a = app();
    const client = await pgClient(a);
    try {
      const sql = 'UPDATE orders SET status = $1';
      const held = client.query(sql, [7]);
      const id = await prompt(sql);
      assert.equal((await click(ALICE, id, 'deny')).status, 200);
      await slack.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(id));
      assert.equal((await sendInteraction(endpoint, secret, denyReasonSubmission({ slackUserId: ALICE, approvalId: id, reason: 'not today' }))).status, 200);
      await assert.rejects(held, (e: Error & { code?: string }) => e.code === '42501' && e.message.includes(`approval ${id} was denied by user:alice (slack:U0LOCALALICE): not today`));
      assert.equal((await client.query<{ n: number }>('SELECT $1::int AS n', [5])).rows[0]?.n, 5, 'the session goes on');
      assert.ok(!executedUpstream(a, sql));
    } finally {
      await client.end();
    }
  });

  it('psql: a CancelRequest through the load balancer ends the wait with 57014; the approval is left open and recorded as not run', async () => {
    const sql = `DELETE FROM orders -- e2e cancel ${randomBytes(4).toString('hex')}`;
    const a = app();
    const t0 = Date.now();
    // SIGINT makes psql send a CancelRequest on a new connection, as a user's Ctrl-C does.
    const held = run(
      'timeout',
      ['-s', 'INT', '-k', '20', '6', 'psql', `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE}`, '-X', '-c', sql],
      { env: { ...process.env, PGPASSWORD: token, PGAPPNAME: a } },
    );
    const id = await prompt(sql);
    const r = await held;
    assert.match(r.stderr, /ERROR: {2}canceling statement due to user request/);
    assert.ok(Date.now() - t0 < 15_000, 'the cancel ended the wait, not the approval timeout');
    assert.ok(!ranUpstream(a, sql));
    const ids = await sessionsOf(a);
    const decisions = await eventually('the cancelled Decision', async () => {
      const q = await chaperone(stack, ['sql', `SELECT decision, reasons, approval_id FROM commands FINAL WHERE session_id IN (${ids}) AND text = '${sql}'`, '--format', 'json']);
      const got = (JSON.parse(q.stdout) as { rows: { decision: string; reasons: string[]; approval_id: string }[] }).rows;
      return got[0]?.decision === 'DENY' ? got : undefined;
    });
    assert.equal(decisions[0]!.approval_id, id);
    assert.match(JSON.stringify(decisions[0]!.reasons), /cancelled by the client \(CancelRequest\) while waiting for approval/);
    // Still open in Temporal: an approval now lets a retry run without a new prompt.
    assert.equal((await click(ALICE, id)).status, 200);
    await slack.waitFor('chat.update', (c) => blocksText(c.args).includes(id) && blocksText(c.args).includes('Approved'));
    const retry = await psql(sql, { app: app() });
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stderr, /approved earlier/);
  });

  it('a CancelRequest sent to the other gateway node ends a wait held on this one (the cancel bus)', async () => {
    const [nodeA, nodeB] = stack.GATEWAY_PG_ADDRESSES!.split(',').map((x) => Number(x.split(':')[1]));
    assert.ok(nodeA && nodeB, 'needs two gateway nodes (CHAPERONE_GATEWAY_NODES=2 deploy/local/up)');
    const a = app();
    const client = await pgClient(a, nodeA);
    const key = (client as unknown as { processID: number; secretKey: number });
    try {
      const sql = 'UPDATE orders SET quantity = quantity + $1';
      const held = client.query(sql, [99]);
      held.catch(() => undefined);
      await prompt(sql);
      await stillWaiting(held, 300);
      const cancel = new Promise<void>((resolve, reject) => {
        const s = tcpConnect({ host: '127.0.0.1', port: nodeB }, () => {
          const b = Buffer.alloc(16);
          b.writeInt32BE(16, 0);
          b.writeInt32BE(80877102, 4);
          b.writeInt32BE(key.processID, 8);
          b.writeInt32BE(key.secretKey, 12);
          s.end(b);
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      await cancel;
      await assert.rejects(held, (e: Error & { code?: string }) => e.code === '57014');
      assert.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
    } finally {
      await client.end();
    }
  });

  it("records ApprovalRequested and ApprovalResolved in the agent's sessions", async () => {
    const types = await eventually('approval events in ClickHouse', async () => {
      const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      const ids = (JSON.parse(ls.stdout) as { sessionId: string }[]).map((x) => `'${x.sessionId}'`);
      if (ids.length === 0) return undefined;
      const q = await chaperone(stack, ['sql', `SELECT type, count() AS n FROM events WHERE session_id IN (${ids.join(',')}) AND type LIKE 'Approval%' GROUP BY type ORDER BY type`, '--format', 'json']);
      const rows = (JSON.parse(q.stdout) as { rows: { type: string; n: string }[] }).rows;
      const byType = Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
      // First test: requested + approved; second: requested + reused, requested + denied.
      return (byType.ApprovalRequested ?? 0) >= 3 && (byType.ApprovalResolved ?? 0) >= 3 ? byType : undefined;
    });
    assert.ok(types.ApprovalRequested! >= 3);
  });

  it('denies with a clear error when nobody answers in time', { timeout: 120_000 }, async () => {
    const sql = `DELETE FROM orders -- e2e timeout ${randomBytes(4).toString('hex')}`;
    const a = app();
    const started = Date.now();
    const r = await psql(sql, { app: a });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /approval approval-[0-9a-f]{64} expired \(no decision within 30 s\); the statement was not run/);
    assert.ok(Date.now() - started >= config.approvals.timeoutMs - 1000);
    assert.ok(!ranUpstream(a, sql));
  });
});
