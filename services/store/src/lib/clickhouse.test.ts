import { createHttpExecutor, type ClickHouseConfig } from './clickhouse.js';
import type { Executor } from './executor.js';
import { storeOn } from './store.js';
import { runMigrationSuite } from './migrate.case.test.js';
import { runSuite } from './store.case.test.js';
import { testClickHouseConfig, throwawayDatabase } from '../testing.js';

// Against the ClickHouse server of the local stack (deploy/local/up --infra-only), in databases
// of their own that are dropped afterwards.
runSuite('ClickHouse server', () => {
  const db = throwawayDatabase();
  const exec = createHttpExecutor(db.config);
  const store = storeOn(exec);
  return Promise.resolve({
    store,
    exec,
    async cleanup() {
      await db.drop();
      await store.close();
    },
  });
});

runMigrationSuite('ClickHouse server', () => {
  const dbs: { config: ClickHouseConfig; drop(): Promise<void> }[] = [];
  const execs: Executor[] = [];
  return Promise.resolve({
    executor(database: string) {
      const db = throwawayDatabase(testClickHouseConfig(), database);
      dbs.push(db);
      execs.push(createHttpExecutor(db.config));
      return Promise.resolve(execs.at(-1)!);
    },
    async cleanup() {
      for (const db of dbs) await db.drop();
      for (const exec of execs) await exec.close();
    },
  });
});
