import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { moreHint, pageOf, parseBefore } from './sessions.js';

const rows = (...started: number[]) => started.map((startedMicros, i) => ({ sessionId: `s${i}`, startedMicros }));

describe('chaperone sessions ls paging', () => {
  it('shows a full page and the cursor of the next one only when more exist', () => {
    assert.deepEqual(pageOf(rows(50, 40), 2), { shown: rows(50, 40) });
    const p = pageOf(rows(50, 40, 30), 2);
    assert.deepEqual(p.shown.map((r) => r.startedMicros), [50, 40]);
    assert.equal(p.next, 40, 'the next page starts before the last shown');
    // A tie across the boundary: the next page repeats the tied start time rather than skip a session.
    assert.equal(pageOf(rows(50, 40, 40), 2).next, 41);
    assert.equal(moreHint(2, 40), '2 sessions shown; more with --before 40 (and the same filters)\n');
  });

  it('--before takes the cursor a hint printed, a date or a duration back', () => {
    assert.equal(parseBefore('1765090000000000'), 1765090000000000);
    assert.equal(parseBefore('2026-01-15T12:00:00Z'), Date.parse('2026-01-15T12:00:00Z') * 1000);
    assert.equal(parseBefore('1h', 10_000_000), (10_000_000 - 3_600_000) * 1000);
    assert.throws(() => parseBefore('soon'), /--before: expected a cursor/);
  });
});
