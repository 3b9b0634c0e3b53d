import { createHttpExecutor } from './clickhouse.js';
import { storeOn } from './store.js';
import { runSuite } from './store.case.test.js';
import { throwawayDatabase } from '../testing.js';

// Against the ClickHouse server of the local stack (deploy/local/up --infra-only), in a database
// of its own that is dropped afterwards.
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
