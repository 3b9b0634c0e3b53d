/**
 * How fast the console's sessions page shows its first rows with 10 000 sessions in the store
 * (issue #16): the sessions are recorded into a throwaway database on the local stack's
 * ClickHouse, an API (with its web console) is started over it in this process, and Debian's
 * chromium opens /sessions. Prints the times; asserts nothing.
 *
 *   node --conditions=development --import tsx services/e2e/src/console.bench.ts [sessions]
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig, type Config } from '@chaperone/config';
import { decodeRecord } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createLogger } from '@chaperone/observability';
import { createStore } from '@chaperone/store';
import { fixtureSession, throwawayDatabase } from '@chaperone/store/testing';
import { startApiServer } from '@chaperone/api';
import { loadStack, repoRoot } from './lib/stack.js';

const SESSIONS = Number(process.argv[2] ?? 10_000);

/** Polls `ok` every 20 ms (so the times printed are within 20 ms). */
async function until(ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const BATCH = 500;

const stack = loadStack();
const base = loadConfig(stack.CHAPERONE_CONFIG);
if (!base.api.web) throw new Error('the stack configuration has no api.web block: rerun deploy/local/up');
const db = throwawayDatabase(base.clickhouse, 'chaperone_console_bench');
const { privateKey } = generateKeyPairSync('ed25519');
const store = createStore(db.config);
const t0 = Date.now();
let server: Awaited<ReturnType<typeof startApiServer>> | undefined;
try {
  await store.migrate();
  const start = Date.now() * 1000 - SESSIONS * 1_000_000;
  for (let i = 0; i < SESSIONS; i += BATCH) {
    const events = [];
    for (let j = i; j < Math.min(i + BATCH, SESSIONS); j++) {
      const s = fixtureSession({ subject: `agent:bench-${j % 200}`, connection: `pg-${j % 7}`, startMicros: start + j * 1_000_000, privateKey, nodeId: 'gw-1' });
      events.push(...s.messages.flatMap((m) => decodeRecord(m)));
    }
    await store.insertEvents(events);
  }
  console.log(`recorded ${SESSIONS} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s (database ${db.config.database})`);
  const config: Config = {
    ...base,
    clickhouse: db.config,
    api: { ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, web: { ...base.api.web, listen: { host: '127.0.0.1', port: 0 } } },
  };
  server = await startApiServer(config, { logger: createLogger({ name: 'console-bench', level: 'warn' }), opsServer: false, consoleDir: join(repoRoot, 'services/console/dist') });
  const url = `https://127.0.0.1:${server.webAddress!.port}`;
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject: 'user:bench', groups: ['soc'], ttlMs: 10 * 60_000 });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await page.goto(`${url}/login`);
    await page.getByLabel('Identity token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('tbody tr').first().waitFor();
    for (const run of [1, 2, 3]) {
      const t = Date.now();
      await page.goto(`${url}/sessions`);
      await page.locator('tbody tr').first().waitFor();
      const rows = await page.locator('tbody tr').count();
      console.log(`run ${run}: /sessions showed its first ${rows} rows ${Date.now() - t} ms after navigation`);
    }
    const rows = page.locator('tbody tr');
    const first = await rows.first().textContent();
    const t = Date.now();
    await page.getByRole('button', { name: 'Older' }).click();
    await until(async () => (await rows.first().textContent()) !== first);
    console.log(`the next page: ${Date.now() - t} ms`);
    const f = Date.now();
    await page.getByLabel('Identity (subject)').fill('agent:bench-7');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(async () => (await rows.count()) > 0 && (await page.locator('tbody tr', { hasNotText: 'agent:bench-7' }).count()) === 0);
    console.log(`filtered by identity (${SESSIONS / 200} sessions of it): ${Date.now() - f} ms`);
  } finally {
    await browser.close();
  }
} finally {
  await server?.stop(1000);
  await store.close();
  await db.drop();
}
