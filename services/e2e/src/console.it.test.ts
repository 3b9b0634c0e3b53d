/**
 * The web console end to end (issue #16), with real parts: Debian's chromium driven by
 * playwright-core → the API's HTTPS listener (api.web) → the recording store, Temporal and the
 * gateways of the running stack. A SOC analyst finds an agent's psql session by identity, plays
 * it and sees the masked e-mail cells, verifies it, runs SQL and downloads the CSV; an approver
 * approves a held statement (the agent's psql then runs it) and denies another with a reason (the
 * agent gets it); an open session updates as its agent runs statements; an admin logs in
 * through the local OpenID provider; the dashboard counts what they did; an agent's token is refused the console. A screenshot of every page goes to
 * services/e2e/.out/console/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig, type Config } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { commandsOf, writeKubeconfig } from './lib/http.js';
import { agentPsql, eventually, loadStack, repoRoot, run, statementLogOffset, statementLogSince, type Stack } from './lib/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(repoRoot, 'services/e2e/.out/console');

describe('the web console', { timeout: 180_000 }, () => {
  let stack: Stack;
  let config: Config;
  let issuer: TokenIssuer;
  let browser: Browser;
  let base: string;
  let logStart = 0;
  const tag = randomBytes(4).toString('hex');
  const subject = `agent:e2e-console-${tag}`;
  let agentToken: string;

  before(async () => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
    const web = config.api.web;
    assert.ok(web, 'the stack configuration has no api.web block: rerun deploy/local/up');
    base = `https://127.0.0.1:${web.listen.port}`;
    issuer = await TokenIssuer.fromConfig(config.identity);
    agentToken = await issuer.issue({ subject, groups: ['agents', 'db-writers'], ttlMs: 10 * 60_000 });
    logStart = statementLogOffset(stack);
    mkdirSync(OUT, { recursive: true });
    // The browser trusts exactly the API's certificate (its key's SPKI hash), nothing else.
    const spki = new X509Certificate(readFileSync(web.tls.certFile)).publicKey.export({ type: 'spki', format: 'der' });
    const pin = createHash('sha256').update(spki).digest('base64');
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install the test tools with deploy/local/install --test (Debian's chromium, pinned)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${pin}`] });
  });

  after(async () => {
    await browser?.close();
  });

  /** A browser profile of its own, logged in with a token through the login page. */
  const loggedIn = async (who: string, groups: string[]): Promise<{ ctx: BrowserContext; page: Page }> => {
    const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('Identity token').fill(await issuer.issue({ subject: who, groups, ttlMs: 10 * 60_000 }));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Logged in as').getByText(who).waitFor();
    return { ctx, page };
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });

  it('refuses an agent identity at login', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const res = await page.goto(`${base}/sessions`);
    assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'; style-src 'self'/);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    // An unsafe call without the console's header (what a cross-site form sends) is refused.
    const csrf = await page.evaluate(async () => (await fetch('/api/v1/logout', { method: 'POST' })).status);
    assert.equal(csrf, 403);
    await page.getByLabel('Identity token').fill(agentToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText(/has no console role/).waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', new RegExp(`${subject} has no console role`));
    assert.deepEqual(await ctx.cookies(), [], 'no session cookie for an agent');
    await shot(page, 'login-refused');
    // The API answers nothing to the agent's token either.
    const status = await page.evaluate(async (t) => (await fetch('/api/v1/sessions', { headers: { authorization: `Bearer ${t}` } })).status, agentToken);
    assert.equal(status, 403);
    await ctx.close();
  });

  it('logs a person in through the OpenID provider (authorization code + PKCE) with the role its groups give', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/login`);
    await page.getByRole('link', { name: 'Log in with single sign-on' }).click();
    // oidc-provider's development login form (deploy/local/oidc), on the provider's origin.
    await page.locator('input[name="login"]').fill('adam');
    await page.locator('input[name="password"]').fill('chaperone');
    await page.locator('button[type="submit"]').click();
    await page.getByLabel('Logged in as').getByText('user:adam (admin)').waitFor();
    assert.equal(new URL(page.url()).origin, base);
    for (const name of ['Sessions', 'Approvals', 'SQL']) assert.equal(await page.getByRole('link', { name, exact: true }).count(), 1, `admin sees ${name}`);
    // Cookies are per host, not per port: the provider's own (on 127.0.0.1 too) are not ours. The flow's cookie is gone.
    const ours = (await ctx.cookies(base)).filter((c) => c.name.startsWith('__Host-chaperone'));
    assert.deepEqual(ours.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite]), [['__Host-chaperone-session', true, true, 'Strict']]);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await shot(page, 'login');
    await ctx.close();
  });

  it('finds a psql session by identity, plays it with its masked cells, verifies it, and runs SQL with a CSV download', async () => {
    const r = await agentPsql(stack, { user: subject, token: agentToken, sql: 'SELECT id, email FROM customers ORDER BY id LIMIT 3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[MASKED:email\]/);
    const { ctx, page } = await loggedIn('user:sam', ['soc']);
    await page.getByRole('link', { name: 'Sessions' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Approvals' }).count(), 1, 'soc reads approvals too');

    // Find it by identity (the materializer stores it within seconds).
    await page.getByLabel('Identity (subject)').fill(subject);
    await page.getByRole('button', { name: 'Search' }).click();
    // Only its session is listed (the first page is re-read every few seconds until it is stored).
    await eventually('the session alone in the list', async () => {
      const rows = await page.locator('tbody tr').allTextContents();
      return rows.length === 1 && rows[0]!.includes(subject) ? true : undefined;
    });
    await shot(page, 'sessions');
    await page.getByRole('link', { name: new RegExp(`of ${subject}`) }).first().click();
    await page.getByRole('heading', { name: 'Identity' }).waitFor();
    assert.equal(await page.locator('dd', { hasText: subject }).count(), 1);

    // The replay: the statement, and its result with the masked cells marked.
    await page.locator('pre.statement', { hasText: 'SELECT id, email FROM customers' }).waitFor();
    const masked = page.locator('td.masked');
    await masked.first().waitFor();
    assert.equal(await masked.count(), 3);
    assert.equal(await masked.first().getAttribute('data-masked'), 'email');
    await page.getByRole('button', { name: 'Verify hash chain and signature' }).click();
    await page.locator('.verify').waitFor();
    assert.match((await page.locator('.verify').textContent()) ?? '', /^(intact|incomplete)/);
    await shot(page, 'session');

    // Keyboard: the replay's Play control is reachable and works from the keyboard.
    await page.getByRole('button', { name: 'Play' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    await page.getByRole('link', { name: 'SQL' }).click();
    await page.getByLabel(/^Query/).fill(`SELECT session_id, subject, connection FROM sessions FINAL WHERE subject = '${subject}'`);
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('table').getByText(subject).waitFor();
    await shot(page, 'sql');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const csvFile = join(OUT, 'query.csv');
    await download.saveAs(csvFile);
    const csv = readFileSync(csvFile, 'utf8').trim().split(/\r?\n/);
    assert.equal(csv[0], 'session_id,subject,connection');
    assert.equal(csv.length, 2);
    assert.match(csv[1]!, new RegExp(`,${subject},demo$`));
    await ctx.close();
  });

  it('shows the dashboard: sessions and commands over the last hour, charts with their tables, lag, health and both gateway nodes, ranges from the keyboard', async () => {
    const { ctx, page } = await loggedIn('user:sam', ['soc']);
    const cspViolations: string[] = [];
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && cspViolations.push(m.text())));
    try {
      await page.getByRole('link', { name: 'Dashboard' }).click();
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      // The previous step's psql session is within the hour (the store has it by now).
      const total = async (label: string) => Number(await page.locator(`[data-total="${label}"] dd`).textContent());
      await eventually('sessions and commands counted', async () => ((await total('Sessions')) > 0 && (await total('Commands')) > 0 ? true : undefined));
      assert.equal(await page.locator('.chart canvas').count(), 2, 'two uPlot charts drawn');
      assert.match((await page.getByRole('img', { name: /^Sessions and commands\. Sessions: \d+ in all/ }).getAttribute('aria-label')) ?? '', /Commands: \d+ in all/);
      await page.getByRole('table', { name: 'Services the API reaches' }).getByRole('row', { name: /recording store healthy/ }).waitFor();
      // Every gateway node of the stack (deploy/local writes both into api.gatewayNodes), each up.
      const nodes = page.getByRole('table', { name: 'Gateway nodes' });
      for (const id of ['gw-1', 'gw-2']) await nodes.getByRole('row', { name: new RegExp(`^${id} up \\d+ `) }).waitFor();
      assert.match((await page.getByRole('region', { name: 'Recording' }).textContent()) ?? '', /Newest event stored\d{4}-/);
      await shot(page, 'dashboard');
      // Keyboard: the range radios move with the arrow keys; the chart's numbers are in a table.
      await page.getByLabel('Last hour').focus();
      await page.keyboard.press('ArrowRight');
      await page.getByText(/in buckets of 15 min/).waitFor();
      assert.match(page.url(), /\/dashboard\?range=24h$/);
      await page.getByText('Sessions and commands as a table').click();
      assert.equal(await page.getByRole('table', { name: /^Sessions and commands per bucket/ }).locator('tbody tr').count(), 96);
      assert.deepEqual(cspViolations, [], 'the charts need nothing the CSP refuses');
    } finally {
      await ctx.close();
    }
  });

  it('plays a kubectl exec session in the xterm.js terminal, in time, with its Kubernetes fields, under the strict CSP', async () => {
    // The agent runs `kubectl exec -i … -- cat` against the Kubernetes API stand-in through the gateway.
    const dir = mkdtempSync(join(tmpdir(), 'e2e-console-k8s-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, stack, agentToken, 'demo');
    const kubectl = (input: string, ...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: dir }, input });
    const pod = `e2e-console-${tag}`;
    writeFileSync(join(dir, 'pod.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}}\nspec: {containers: [{name: main, image: busybox}]}\n`);
    assert.equal((await kubectl('', 'apply', '-f', join(dir, 'pod.yaml'))).code, 0);
    const cat = await kubectl(`typed-${tag}\nsecond line\n`, 'exec', '-i', pod, '--', 'cat');
    assert.equal(cat.code, 0, cat.stderr);
    const [exec] = await commandsOf(stack, subject, 1, `action = 'k8s.exec' AND position(text, '${pod}/exec') > 0`);

    const { ctx, page } = await loggedIn('user:sam', ['soc']);
    const cspViolations: string[] = [];
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && cspViolations.push(m.text())));
    try {
      await page.goto(`${base}/sessions/${exec!.session_id}`);
      // kubectl reads the pod first, on the same connection: the exec is a later request of the session.
      const item = page.getByRole('listitem', { name: /^request \d+: k8s\.exec$/ });
      // kubectl speaks WebSocket (a GET); older ones SPDY (a POST: verb create).
      await item.getByText(new RegExp(`^verb (get|create)\\s+resource v1/pods/exec\\s+namespace demo\\s+name ${pod}$`)).waitFor();
      await item.getByText('→ 101 Switching Protocols').waitFor();
      const screen = item.locator('.xterm-rows');
      await eventually('the output in the terminal', async () => ((await screen.textContent())?.includes(`typed-${tag}second line`) ? true : undefined));
      await shot(page, 'session-exec');
      // Back to the start with the keyboard: nothing has happened yet; Play writes the output again in time.
      await page.getByLabel('Time').focus();
      await page.keyboard.press('Home');
      await eventually('back at the start', async () => ((await item.count()) === 0 ? true : undefined));
      await page.getByLabel('Speed').selectOption('10');
      await page.getByRole('button', { name: 'Play' }).click();
      await eventually('the output replayed', async () => ((await screen.textContent())?.includes('second line') ? true : undefined));
      // Typed input only on demand (the gateway masks what comes back, not what the agent types).
      await page.getByLabel(/Show typed input/).check();
      await eventually('stdin shown beside the output', async () => ((await screen.textContent())?.match(new RegExp(`typed-${tag}`, 'g'))?.length === 2 ? true : undefined));
      assert.deepEqual(cspViolations, [], 'xterm.js styles itself under the CSP (its <style> elements carry the page nonce)');
    } finally {
      await ctx.close();
    }
  });

  it('shows a live session updating as its agent runs statements; an admin ends it (console) and another one (CLI), on the node holding each', async () => {
    const liveSubject = `agent:e2e-console-live-${tag}`;
    const agent = async (app: string) => {
      const c = new pg.Client({
        host: '127.0.0.1', port: Number(stack.HAPROXY_PG_PORT), database: 'demo', user: liveSubject, application_name: app,
        password: await issuer.issue({ subject: liveSubject, groups: ['agents'], ttlMs: 10 * 60_000 }), ssl: { ca: readFileSync(stack.TLS_CA_FILE!), rejectUnauthorized: true },
      });
      // What the gateway tells the agent when its session is ended: a FATAL error on the connection.
      const told = new Promise<Error>((resolve) => c.on('error', resolve));
      await c.connect();
      return { c, told };
    };
    const { c: client, told } = await agent(`e2e-console-live-${tag}`);
    const { ctx, page } = await loggedIn('user:adam', ['admins']);
    try {
      await client.query('SELECT 1 AS first_live');
      await page.goto(`${base}/sessions?subject=${encodeURIComponent(liveSubject)}`);
      // The first page is re-read every few seconds: the open session shows up, marked live.
      await page.getByRole('table').getByText('live', { exact: true }).waitFor({ timeout: 20_000 });
      await page.getByRole('link', { name: new RegExp(`of ${liveSubject}`) }).click();
      await page.locator('pre.statement', { hasText: 'SELECT 1 AS first_live' }).waitFor({ timeout: 20_000 });
      await client.query('SELECT 2 AS second_live');
      await page.locator('pre.statement', { hasText: 'SELECT 2 AS second_live' }).waitFor({ timeout: 20_000 });
      await shot(page, 'session-live');

      // The admin ends it: the agent is told why, the session records who ended it and why.
      await page.getByLabel('Reason').fill(`e2e end ${tag}`);
      await page.getByRole('button', { name: 'End session' }).click();
      await page.locator('dd', { hasText: `ended-by-admin: ended by user:adam: e2e end ${tag}` }).waitFor({ timeout: 20_000 });
      assert.match((await told).message, new RegExp(`an administrator \\(user:adam\\) ended this session: e2e end ${tag}`));
      await shot(page, 'session-ended');

      // The CLI does the same (`chaperone sessions end`), and refuses a session that has ended.
      const second = await agent(`e2e-console-live2-${tag}`);
      await second.c.query('SELECT 3 AS third_live');
      const [open] = await eventually('the second session stored, open', async () => {
        const rows = await page.evaluate(async (subj) => (await (await fetch(`/api/v1/sessions?subject=${encodeURIComponent(subj)}&state=open`)).json()) as { sessions: { sessionId: string }[] }, liveSubject);
        return rows.sessions.length === 1 ? rows.sessions : undefined;
      });
      const admin = await issuer.issue({ subject: 'user:adam', groups: ['admins'], ttlMs: 5 * 60_000 });
      const cli = (...args: string[]) => run('node', [stack.CHAPERONE_CLI!, ...args], { cwd: repoRoot, env: { ...process.env, CHAPERONE_CONFIG: stack.CHAPERONE_CONFIG, CHAPERONE_TOKEN: admin } });
      const ended = await cli('sessions', 'end', open!.sessionId, '--reason', 'cli', '--json');
      assert.equal(ended.code, 0, ended.stderr);
      assert.deepEqual(
        (({ endReason, endError }) => ({ endReason, endError }))(JSON.parse(ended.stdout) as { endReason: string; endError: string }),
        { endReason: 'ended-by-admin', endError: 'ended by user:adam: cli' },
      );
      assert.match((await second.told).message, /an administrator \(user:adam\) ended this session: cli/);
      const again = await cli('sessions', 'end', open!.sessionId);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /has already ended \(ended-by-admin\)/);
      await second.c.end().catch(() => undefined);
    } finally {
      await client.end().catch(() => undefined);
      await ctx.close();
    }
  });

  it('lets an approver approve a held statement (it runs) and deny another with a reason (the agent gets it)', async () => {
    const { ctx, page } = await loggedIn('user:alice', ['dba']);
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sessions' }).count(), 0, 'an approver who is not soc sees no recordings');
    // New approvals are pushed (server-sent events through the same cookie and CSP), not polled.
    await page.getByText(/pushed by the API as they come/).waitFor();

    const held = (sql: string, app: string) =>
      run('psql', [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN', '-c', sql, '-c', 'ROLLBACK'], {
        env: { ...process.env, PGPASSWORD: agentToken, PGAPPNAME: app },
      });
    const item = (sql: string) => page.getByRole('listitem', { name: `approval for ${subject} on demo` }).filter({ hasText: sql });

    // It appears without a reload.
    const approveSql = `DELETE FROM orders -- e2e console approve ${tag}`;
    const approved = held(approveSql, `e2e-console-a-${tag}`);
    await item(approveSql).waitFor({ timeout: 20_000 });
    await shot(page, 'approvals');
    await item(approveSql).getByLabel('Reason').fill('e2e console');
    await item(approveSql).getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').getByText(/approved .*: now approved/).waitFor();
    const a = await approved;
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /approved by user:alice/);
    assert.ok(statementLogSince(stack, logStart).includes(`app=e2e-console-a-${tag} LOG:  statement: ${approveSql}`), 'the approved statement ran upstream');

    const denySql = `DELETE FROM orders -- e2e console deny ${tag}`;
    const denied = held(denySql, `e2e-console-d-${tag}`);
    await item(denySql).waitFor({ timeout: 20_000 });
    await item(denySql).getByLabel('Reason').fill('add a WHERE clause');
    await item(denySql).getByRole('button', { name: 'Deny' }).click();
    const d = await denied;
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /denied by user:alice.*: add a WHERE clause/);
    assert.ok(!statementLogSince(stack, logStart).includes(`app=e2e-console-d-${tag} LOG:  statement: ${denySql}`), 'the denied statement never ran');
    await page.getByRole('checkbox', { name: 'Show decided approvals too' }).check();
    await page.getByRole('cell', { name: 'add a WHERE clause' }).first().waitFor();
    await shot(page, 'approvals-history');
    await ctx.close();
  });
});
