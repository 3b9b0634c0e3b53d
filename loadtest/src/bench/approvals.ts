/**
 * Just-in-time approval latency through the running local stack (deploy/local/up), real parts
 * only: an agent (node-postgres, simple-query protocol, TLS) → haproxy → gateway node → approval
 * workflow on the Temporal dev server → the stack's approvals worker → Slack prompt posted with
 * @slack/web-api to a local stand-in of the Web API (started here, on the port the stack's
 * configuration names) → a click signed as Slack signs it → the held statement goes upstream.
 *
 * Prints p50/p99/max of
 *   - blocked → Slack post: the statement is sent → the stand-in receives chat.postMessage
 *   - click → forwarded: the signed click is sent → PostgreSQL logs the statement (its
 *     statement log, %m timestamps with millisecond resolution)
 *   - click → result: the click is sent → the agent has the statement's result
 * against the targets of issue #6 (≤ 200 ms and ≤ 300 ms p50). Each round holds a fresh
 * statement (`DELETE FROM orders -- bench …` inside BEGIN … ROLLBACK: nothing is changed), so
 * no approval is reused.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/approvals.ts [--rounds 30] [--json]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { blocksText, buttonClick, sendInteraction, startSlackStandIn } from '@chaperone/approvals/testing';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';

const HELP = `usage: node --conditions=development --import tsx loadtest/src/bench/approvals.ts [options]

Just-in-time approval latency through the running local stack (deploy/local/up): blocked statement
→ Slack post, signed click → statement forwarded upstream, click → result at the agent (p50/p99/max).

options:
  --rounds N     measured rounds (default 30)
  --warmup N     rounds before measuring (default 3)
  --stack FILE   the stack description (default deploy/local/.run/stack.json)
  --json         the figures as JSON on stdout
  -h, --help     this help`;

/** A usage or setup problem: one line saying what to do, no stack trace (exit 2). */
function fail(message: string): never {
  process.stderr.write(`approvals bench: ${message}\n`);
  process.exit(2);
}

const ARGS = {
  options: {
    rounds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    stack: { type: 'string', default: fileURLToPath(new URL('../../../deploy/local/.run/stack.json', import.meta.url)) },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
} as const;
let args: ReturnType<typeof parseArgs<typeof ARGS>>['values'];
try {
  args = parseArgs(ARGS).values;
} catch (err) {
  fail(`${(err as Error).message} (see --help)`);
}
if (args.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);
if (!(rounds > 0) || !(warmup >= 0)) fail('--rounds must be > 0 and --warmup >= 0 (see --help)');

let stack: Record<string, string>;
try {
  stack = JSON.parse(readFileSync(args.stack, 'utf8')) as Record<string, string>;
} catch (err) {
  fail(`cannot read ${args.stack} (${(err as Error).message}): start the stack with deploy/local/up`);
}
const config = loadConfig(stack.CHAPERONE_CONFIG);
const s = config.approvals.slack;
if (!s) fail(`${stack.CHAPERONE_CONFIG} has no approvals.slack block: rerun deploy/local/up`);
const approver = config.approvals.approvers.find((a) => a.slackUserId && a.groups.includes('dba'));
if (!approver) fail('no approver of group dba with a Slack user in approvals.approvers (deploy/local/up writes one)');

const signingSecret = s.signingSecret;
const approverSlackUser = approver.slackUserId!;
const slack = await startSlackStandIn({ port: Number(new URL(s.apiUrl).port), botToken: s.botToken });
const endpoint = `http://${s.interactivity.host}:${s.interactivity.port}`;
const issuer = await TokenIssuer.fromConfig(config.identity);
const subject = `agent:bench-approvals-${randomBytes(3).toString('hex')}`;
const token = await issuer.issue({ subject, groups: ['agents', 'db-writers'], ttlMs: 60 * 60_000 });
const statementLog = stack.PG_STATEMENT_LOG!;

/** When PostgreSQL logged `statement: <sql>` for this application name (epoch ms), read from where the round began. */
function loggedAt(from: number, app: string, sql: string): number | undefined {
  const text = readFileSync(statementLog).subarray(from).toString('utf8');
  const line = text.split('\n').find((l) => l.includes(`app=${app} LOG:  statement: ${sql}`));
  const m = line && /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC/.exec(line);
  return m ? Date.parse(`${m[1]!.replace(' ', 'T')}Z`) : undefined;
}

async function round(i: number): Promise<{ post: number; forward: number; result: number }> {
  const app = `bench-appr-${i}-${randomBytes(3).toString('hex')}`;
  const sql = `DELETE FROM orders -- bench ${app}`;
  const client = new pg.Client({
    host: '127.0.0.1',
    port: Number(stack.HAPROXY_PG_PORT),
    database: 'demo',
    user: subject,
    password: token,
    application_name: app,
    ssl: { ca: readFileSync(stack.TLS_CA_FILE!) },
  });
  await client.connect();
  try {
    await client.query('BEGIN');
    const logOffset = statSync(statementLog).size;
    const sent = Date.now();
    const running = client.query(sql);
    running.catch(() => undefined);
    const posted = await slack.waitFor('chat.postMessage', (c) => c.args.thread_ts === undefined && blocksText(c.args).includes(app), 30_000);
    const id = /"value":"(approval-[0-9a-f]{64})"/.exec(JSON.stringify(posted.args.blocks))![1]!;
    const clicked = Date.now();
    const res = await sendInteraction(endpoint, signingSecret, buttonClick({ slackUserId: approverSlackUser, approvalId: id, action: 'approve' }));
    if (res.status !== 200) throw new Error(`the click was answered ${res.status}: ${res.body}`);
    await running;
    const done = Date.now();
    await client.query('ROLLBACK');
    let upstream: number | undefined;
    for (let t = 0; t < 20 && upstream === undefined; t++) {
      upstream = loggedAt(logOffset, app, sql);
      if (upstream === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    if (upstream === undefined) throw new Error(`statement of ${app} not found in ${statementLog}`);
    return { post: posted.at - sent, forward: upstream - clicked, result: done - clicked };
  } finally {
    await client.end();
  }
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

try {
  for (let i = 0; i < warmup; i++) await round(-1 - i);
  const samples: { post: number; forward: number; result: number }[] = [];
  for (let i = 0; i < rounds; i++) samples.push(await round(i));
  const summary = (['post', 'forward', 'result'] as const).map((k) => {
    const xs = samples.map((x) => x[k]);
    return { metric: k, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) };
  });
  const targets = { post: 200, forward: 300 } as Record<string, number>;
  if (args.json) process.stdout.write(`${JSON.stringify({ rounds, summary, targetsMs: targets, samples }, null, 2)}\n`);
  else {
    const label = { post: 'blocked → Slack post', forward: 'click → forwarded upstream', result: 'click → result at the agent' };
    process.stdout.write(`just-in-time approval latency, ${rounds} rounds (ms)\n`);
    process.stdout.write(`${'metric'.padEnd(30)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}  target p50\n`);
    for (const r of summary) {
      const target = targets[r.metric];
      const verdict = target === undefined ? '' : `≤ ${target} ${r.p50 <= target ? 'ok' : 'MISSED'}`;
      process.stdout.write(`${label[r.metric].padEnd(30)} ${String(r.p50).padStart(6)} ${String(r.p99).padStart(6)} ${String(r.max).padStart(6)}  ${verdict}\n`);
    }
  }
} finally {
  await slack.close();
}
