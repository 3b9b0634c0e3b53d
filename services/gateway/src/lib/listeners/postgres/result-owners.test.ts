import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../../protocols/postgres/index.js';
import { ResultOwners } from './result-owners.js';

type Name = keyof typeof Backend;

/** Feeds upstream messages in order, counting ReadyForQuery as AnswerQueue.seen does; returns each message's command. */
function answer(o: ResultOwners, names: Name[], seen = { n: 0 }): number[] {
  return names.map((name) => {
    const id = o.owner(Backend[name], seen.n);
    if (name === 'ReadyForQuery') seen.n++;
    return id;
  });
}

describe('ResultOwners', () => {
  it('gives each statement of a simple Query its own results, and the ReadyForQuery to the last', () => {
    const o = new ResultOwners();
    o.forwarded(1, 2, 0);
    const got = answer(o, ['RowDescription', 'DataRow', 'CommandComplete', 'RowDescription', 'DataRow', 'DataRow', 'CommandComplete', 'ReadyForQuery']);
    assert.deepEqual(got, [1, 1, 1, 2, 2, 2, 2, 2]);
  });

  it('a psycopg pipeline: four executions before one Sync, the third fails, the fourth gets nothing', () => {
    const o = new ResultOwners();
    for (let id = 1; id <= 4; id++) o.forwarded(id, id, 0);
    const got = answer(o, [
      'ParseComplete', 'BindComplete', 'DataRow', 'CommandComplete',
      'ParseComplete', 'BindComplete', 'CommandComplete',
      'ParseComplete', 'BindComplete', 'ErrorResponse',
      'ReadyForQuery',
    ]);
    assert.deepEqual(got, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]);
    o.forwarded(5, 5, 1);
    assert.deepEqual(answer(o, ['RowDescription', 'DataRow', 'CommandComplete', 'ReadyForQuery'], { n: 1 }), [5, 5, 5, 5], 'the skipped fourth is gone at the ReadyForQuery');
  });

  it('keeps results of later segments apart, and async messages belong to no command', () => {
    const o = new ResultOwners();
    o.forwarded(1, 1, 0);
    o.forwarded(2, 2, 1);
    const got = answer(o, ['CommandComplete', 'ParameterStatus', 'ReadyForQuery', 'NotificationResponse', 'DataRow', 'CommandComplete', 'ReadyForQuery', 'ReadyForQuery']);
    assert.deepEqual(got, [1, 0, 1, 0, 2, 2, 2, 0]);
  });

  it('a held batch the gateway refused is withdrawn; a command queued already is not queued twice', () => {
    const o = new ResultOwners();
    o.forwarded(1, 1, 0);
    o.forwarded(2, 3, 1);
    o.withdraw(1);
    o.forwarded(1, 1, 0);
    assert.deepEqual(answer(o, ['CommandComplete', 'ReadyForQuery', 'CommandComplete']), [1, 1, 0]);
  });
});
