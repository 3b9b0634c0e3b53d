import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sqlCell } from './sql-json.js';

describe('sql --format json cells', () => {
  it('gives numbers as numbers, arrays as arrays, NULL as null', () => {
    assert.equal(sqlCell('UInt64', '42'), 42);
    assert.equal(sqlCell('Nullable(Int32)', '-3'), -3);
    assert.equal(sqlCell('Float64', '0.5'), 0.5);
    assert.equal(sqlCell('UInt64', '18446744073709551615'), '18446744073709551615', 'past 2^53: the exact digits');
    assert.equal(sqlCell('UInt64', null), null);
    assert.deepEqual(sqlCell('Array(UInt64)', '[1,2,3]'), [1, 2, 3]);
    assert.deepEqual(sqlCell('Array(String)', "['lead:ada','it\\'s, a\\\\b']"), ['lead:ada', "it's, a\\b"]);
    assert.deepEqual(sqlCell('Array(String)', '[]'), []);
    assert.equal(sqlCell('String', '007'), '007');
    assert.equal(sqlCell('DateTime', '2026-12-07 15:00:00'), '2026-12-07 15:00:00');
  });
});
