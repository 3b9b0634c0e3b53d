import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatementLog } from './statement-log.js';

const LOG = `===== 2026-11-24T00:58:31Z start: postgres
2026-01-01 10:00:00.123 UTC [4242] chaperone_upstream@demo app=psql LOG:  connection authorized: user=chaperone_upstream database=demo
2026-01-01 10:00:00.125 UTC [4242] chaperone_upstream@demo app=psql LOG:  statement: SELECT 1; SELECT
\t2
2026-01-01 10:00:00.125 UTC [763] LOG:  checkpoint complete: wrote 67 buffers (0.4%)
2026-01-01 10:00:00.126 UTC [4243] chaperone_upstream@demo app=pgbench LOG:  execute P_1: SELECT * FROM t WHERE id = $1
2026-01-01 10:00:00.126 UTC [4243] chaperone_upstream@demo app=pgbench DETAIL:  parameters: $1 = '7'
2026-01-01 10:00:00.127 UTC [4243] chaperone_upstream@demo app=pgbench LOG:  execute fetch from P_1: SELECT * FROM t WHERE id = $1
2026-01-01 10:00:00.130 UTC [4244] postgres@demo app=psql LOG:  statement: SELECT 3
2026-01-01 10:00:00.131 UTC [4242] chaperone_upstream@demo app=psql ERROR:  relation "nope" does not exist
2026-01-01 10:00:00.131 UTC [4242] chaperone_upstream@demo app=psql STATEMENT:  SELECT * FROM nope
`;

describe('statement log', () => {
  it('reads simple and extended executions, multi-line SQL, by user, skipping fetch continuations', () => {
    const s = parseStatementLog(LOG, { user: 'chaperone_upstream' });
    assert.deepEqual(
      s.map((x) => [x.pid, x.kind, x.text]),
      [
        [4242, 'statement', 'SELECT 1; SELECT\n2'],
        [4243, 'execute', 'SELECT * FROM t WHERE id = $1'],
      ],
    );
    assert.equal(parseStatementLog(LOG, { sinceMs: Date.parse('2026-01-01T10:00:00.126Z') }).length, 2);
  });
});

describe('statement log: fastpath calls', () => {
  it('reads a fastpath function call as the gateway records it', () => {
    const log = '2026-01-01 10:00:00.125 UTC [4242] chaperone_upstream@sandbox app=psql LOG:  fastpath function call: "lo_open" (OID 952)\n';
    assert.deepEqual(parseStatementLog(log).map((x) => [x.kind, x.text]), [['execute', 'FUNCTION CALL 952']]);
  });
});
