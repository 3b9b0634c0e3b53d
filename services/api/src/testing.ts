/**
 * @module @chaperone/api/testing
 * Fixtures for tests of the API and its clients: sessions scripted as client and server writes
 * and recorded as events v1 or v2, and a fake store whose reads a test can watch and hold back.
 */
export { bulkScript, fakeStore, recordScript, storedEvent } from './lib/testing.js';
export type { FakeRead, FakeStore, ScriptMessage, ScriptStep } from './lib/testing.js';
export {
  pgBind, pgBindComplete, pgDescribePortal, pgEmptyQueryResponse, pgExecute, pgParse, pgParseComplete, pgSync,
} from './lib/testing.js';
