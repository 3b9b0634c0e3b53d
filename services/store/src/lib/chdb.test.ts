import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbExecutor } from './chdb.js';
import type { Executor } from './executor.js';
import { storeOn } from './store.js';
import { runMigrationSuite } from './migrate.case.test.js';
import { runSuite } from './store.case.test.js';

// The embedded engine (npm chdb, a current ClickHouse) in a temporary data directory: the same
// migrations and the same cases as the server. chdb holds one data directory per process, so
// every suite's databases live in this one.
const dir = mkdtempSync(join(tmpdir(), 'chaperone-chdb-test-'));
const opened: Executor[] = [];
const onEngine = async (database: string): Promise<Executor> => {
  const exec = await createChdbExecutor({ database, path: dir });
  opened.push(exec);
  return exec;
};
after(async () => {
  for (const exec of opened) await exec.close();
  rmSync(dir, { recursive: true, force: true });
});

runSuite('embedded chdb', async () => {
  const store = storeOn(await onEngine('chaperone_test'));
  return { store, exec: opened.at(-1)!, cleanup: () => Promise.resolve() };
});

runMigrationSuite('embedded chdb', () => Promise.resolve({ executor: onEngine, cleanup: () => Promise.resolve() }));
