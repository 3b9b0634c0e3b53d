import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BULK_TARGETS, bulkVerdicts, formatBulkReport, ratio, recordingIntact, worstGrowth, type BulkCase, type BulkReport, type RecordingCheck } from './bulk-report.js';

const MiB = 1024 * 1024;

const intact = (events: number, bytesOut: number): RecordingCheck => ({
  sessions: [{ sessionId: 's-1', state: 'sealed', events, gapFree: true, bytesOut, verify: { exitCode: 0, summary: 'intact: chain, columns and seal check out', ms: 2100 } }],
  materializedMs: 3200,
});

function bulkCase(over: Partial<BulkCase> = {}): BulkCase {
  return {
    name: 'big-select',
    command: `psql -X -c "SELECT repeat('x',1000) FROM generate_series(1,300000)"`,
    direct: { ms: 3000, exitCode: 0 },
    chaperone: { ms: 7500, exitCode: 0 },
    rss: [
      { node: 'gateway-1', beforeBytes: 100 * MiB, maxBytes: 130 * MiB, growthBytes: 30 * MiB, samples: 30 },
      { node: 'gateway-2', beforeBytes: 100 * MiB, maxBytes: 101 * MiB, growthBytes: 1 * MiB, samples: 30 },
    ],
    recording: intact(1200, 310 * MiB),
    ...over,
  };
}

const report = (cases: BulkCase[], replay: BulkReport['replay'] = { sessionId: 's-1', cliFirstRowMs: 640, apiFirstEventMs: 40, apiFirstDataRowMs: 95 }): BulkReport => ({
  date: '2026-12-07T00:00:00.000Z',
  machine: '2 × CPU, load average 0.5 → 1.0',
  databaseBytes: 160 * MiB,
  cases,
  replay,
});

describe('bench:bulk report', () => {
  it('meets every target at the limits, and says so per case', () => {
    const atLimits = bulkCase({
      direct: { ms: 2000, exitCode: 0 },
      chaperone: { ms: 6000, exitCode: 0 },
      rss: [{ node: 'gateway-1', beforeBytes: 0, maxBytes: BULK_TARGETS.maxRssGrowthBytes, growthBytes: BULK_TARGETS.maxRssGrowthBytes, samples: 3 }],
    });
    const v = bulkVerdicts(report([atLimits, bulkCase({ name: 'pg-dump' })], { sessionId: 's-1', cliFirstRowMs: 1000 }));
    assert.deepEqual(v.map((x) => [x.target, x.met]), [
      ['big-select.ratio', true],
      ['big-select.rss', true],
      ['big-select.recording', true],
      ['pg-dump.ratio', true],
      ['pg-dump.rss', true],
      ['pg-dump.recording', true],
      ['replay.firstRow', true],
    ]);
    assert.equal(v[0]!.line, 'big SELECT: Chaperone 3.00× direct (target ≤ 3×): met');
    assert.equal(v[1]!.line, 'big SELECT: gateway RSS grew 64.0 MiB (gateway-1; target ≤ 64.0 MiB): met');
    assert.equal(v[5]!.line, 'pg_dump: recording intact (1 session(s), chaperone verify exit 0): met');
    assert.equal(v[6]!.line, 'replay: first result row after 1000 ms (target ≤ 1000 ms): met');
  });

  it('misses each target just past its limit', () => {
    const over = bulkCase({
      direct: { ms: 2000, exitCode: 0 },
      chaperone: { ms: 6001, exitCode: 0 },
      rss: [{ node: 'gateway-2', beforeBytes: 0, maxBytes: 64 * MiB + 1, growthBytes: 64 * MiB + 1, samples: 3 }],
    });
    const v = bulkVerdicts(report([over], { sessionId: 's-1', cliFirstRowMs: 1001 }));
    assert.deepEqual(v.map((x) => x.met), [false, false, true, false]);
    assert.match(v[0]!.line, /3\.00× direct \(target ≤ 3×\): NOT met$/);
    assert.match(v[3]!.line, /after 1001 ms \(target ≤ 1000 ms\): NOT met$/);
  });

  it('counts what could not be measured or failed as not met, with the reason', () => {
    const failed = bulkCase({ chaperone: { ms: 100, exitCode: 1, error: 'pg_dump: error: query failed: refused' }, rss: [], recording: { sessions: [], error: 'no session of agent:x in ClickHouse after 600 s' } });
    const broken = bulkCase({ name: 'pg-dump', recording: { sessions: [{ sessionId: 's-2', state: 'sealed', events: 9, gapFree: true, bytesOut: 1, verify: { exitCode: 2, summary: 'broken at seq 4: hash mismatch', ms: 10 } }] } });
    const v = bulkVerdicts(report([failed, broken], { sessionId: 's-1', cliOutcome: 'exit 1: UNAUTHENTICATED' }));
    assert.deepEqual(v.map((x) => x.met), [false, false, false, true, true, false, false]);
    assert.equal(v[0]!.line, 'big SELECT: failed through Chaperone (exit 1: pg_dump: error: query failed: refused) (target ≤ 3× direct): NOT met');
    assert.match(v[1]!.line, /RSS not measured/);
    assert.equal(v[2]!.line, 'big SELECT: recording not intact — no session of agent:x in ClickHouse after 600 s: NOT met');
    assert.equal(v[5]!.line, 'pg_dump: recording not intact — s-2: verify exit 2: broken at seq 4: hash mismatch: NOT met');
    assert.equal(v[6]!.line, 'replay: no result row printed (exit 1: UNAUTHENTICATED; target ≤ 1000 ms): NOT met');
  });

  it('helpers: the ratio only for two clean runs, the node that grew most, intact only with sessions all verified', () => {
    assert.equal(ratio(bulkCase()), 2.5);
    assert.equal(ratio(bulkCase({ direct: { ms: 3000, exitCode: 1 } })), undefined);
    assert.equal(worstGrowth(bulkCase().rss)?.node, 'gateway-1');
    assert.equal(worstGrowth([]), undefined);
    assert.equal(recordingIntact(undefined), false);
    assert.equal(recordingIntact({ sessions: [] }), false);
    const unverified = intact(1, 1);
    delete unverified.sessions[0]!.verify;
    assert.equal(recordingIntact(unverified), false);
  });

  it('formats a table of the cases, the commands, the replay and the verdicts', () => {
    const text = formatBulkReport(report([bulkCase({ name: 'pg-dump', command: 'pg_dump --format=plain --file=/dev/null' }), bulkCase()]));
    const lines = text.split('\n');
    assert.equal(lines[0], 'bulk paths, direct vs Chaperone; 2026-12-07T00:00:00.000Z; 2 × CPU, load average 0.5 → 1.0; sandbox database 160.0 MiB');
    assert.equal(lines[2], 'case        | direct      | chaperone   | ratio | gateway RSS growth         | recording');
    assert.equal(
      lines[3],
      'pg_dump     | 3.00 s      | 7.50 s      | 2.50  | +30.0 MiB (gateway-1)      | intact: 1 session(s), 1200 events, 310.0 MiB to the client, sealed 3.20 s after the client, verify 2.10 s',
    );
    assert.match(lines[4]!, /^big SELECT {2}\| 3\.00 s/);
    assert.ok(lines.includes('commands:'));
    assert.ok(lines.includes('  pg_dump: pg_dump --format=plain --file=/dev/null'));
    assert.ok(text.includes('replay of the big SELECT session s-1: `chaperone replay --no-wait` first result row after 640 ms (node start included); API alone: first event 40 ms, first DataRow 95 ms'));
    assert.ok(!text.includes('failures:'));
    assert.equal(lines.at(-1), 'replay: first result row after 640 ms (target ≤ 1000 ms): met');
  });

  it('lists failures and shows a failed run in the table', () => {
    const { replay: _none, ...withoutReplay } = report([bulkCase({ chaperone: { ms: 10, exitCode: 2, error: 'psql: error: connection refused' }, rss: [] })]);
    const text = formatBulkReport(withoutReplay);
    assert.match(text, /big SELECT {2}\| 3\.00 s {6}\| FAILED \(2\) {2}\| - {5}\| not measured/);
    assert.match(text, /failures:\n {2}big SELECT chaperone: psql: error: connection refused/);
    assert.ok(!text.includes('replay of'));
  });
});
