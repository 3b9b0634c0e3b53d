import { createChdbExecutor } from './chdb.js';
import { storeOn } from './store.js';
import { runSuite } from './store.case.test.js';

// The embedded engine (npm chdb, a current ClickHouse) in a temporary data directory: the same
// migrations and the same cases as the server.
runSuite('embedded chdb', async () => {
  const exec = await createChdbExecutor({ database: 'chaperone_test' });
  const store = storeOn(exec);
  return { store, exec, cleanup: () => store.close() };
});
