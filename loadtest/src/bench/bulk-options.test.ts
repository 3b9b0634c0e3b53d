import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bigSelectSql, parseBulkOptions } from './bulk-options.js';
import { BenchError } from './errors.js';

const parse = (...argv: string[]) => parseBulkOptions(argv, '/run/stack.json');

function badArgs(argv: string[], message: RegExp): void {
  assert.throws(
    () => parse(...argv),
    (err: unknown) => err instanceof BenchError && err.code === 'BAD_ARGS' && message.test(err.message),
  );
}

describe('bench:bulk options', () => {
  it('defaults to both cases of the issue: pg_dump and 300000 rows of 1000 characters', () => {
    assert.deepEqual(parse(), {
      cases: ['pg-dump', 'big-select'],
      rows: 300_000,
      width: 1000,
      scale: 10,
      warmup: 1,
      timeoutMs: 600_000,
      materializeTimeoutMs: 600_000,
      replay: true,
      stack: '/run/stack.json',
      json: false,
    });
    assert.equal(bigSelectSql({ rows: 300_000, width: 1000 }), "SELECT repeat('x',1000) FROM generate_series(1,300000)");
  });

  it('reads every option, and keeps the cases in their fixed order', () => {
    const o = parse('--cases', 'big-select, pg-dump', '--rows', '10', '--width', '5', '--scale', '2', '--warmup', '0', '--timeout', '90s', '--materialize-timeout', '2m', '--skip-replay', '--stack', 'x.json', '--json');
    assert.notEqual(o, 'help');
    assert.deepEqual(o, { cases: ['pg-dump', 'big-select'], rows: 10, width: 5, scale: 2, warmup: 0, timeoutMs: 90_000, materializeTimeoutMs: 120_000, replay: false, stack: 'x.json', json: true });
    assert.deepEqual(parse('--cases', 'big-select'), { ...(parse() as object), cases: ['big-select'] });
  });

  it('answers --help and -h', () => {
    assert.equal(parse('--help'), 'help');
    assert.equal(parse('-h'), 'help');
  });

  it('refuses unknown options, stray arguments and bad values with a BAD_ARGS message', () => {
    badArgs(['--bogus'], /Unknown option '--bogus'; see --help/);
    badArgs(['extra'], /positional|Unexpected argument/i);
    badArgs(['--cases', 'pg-dump,restore'], /--cases takes pg-dump and\/or big-select, got "restore"/);
    badArgs(['--cases', ','], /--cases names no case/);
    badArgs(['--rows', '0'], /--rows takes a whole number ≥ 1, got "0"/);
    badArgs(['--width', '1.5'], /--width takes a whole number/);
    badArgs(['--warmup', '-1'], /--warmup/);
    badArgs(['--timeout', 'soon'], /--timeout takes a duration/);
    badArgs(['--materialize-timeout', '0s'], /--materialize-timeout must be longer than 0/);
  });
});
