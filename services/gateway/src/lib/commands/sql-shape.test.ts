import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { initSqlParser, parseSql } from './index.js';
import { cachedParse, clearParseCache } from './parse-cache.js';
import { sqlShape } from './sql-shape.js';
import { parseUncached } from './sql.js';

describe('sqlShape', () => {
  it('replaces plain literals by one of the same kind and keeps everything else verbatim', () => {
    assert.equal(sqlShape('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;'), 'SELECT abalance FROM pgbench_accounts WHERE aid = 0;');
    assert.equal(sqlShape("select * from t1 where name = 'O''Brien' and x > 1.5e3 and y < 12345678901"), "select * from t1 where name = '' and x > 0.0 and y < 0.0");
    assert.equal(sqlShape('select "col 1", "a""9" from "t 2" where c=7'), 'select "col 1", "a""9" from "t 2" where c=0');
    assert.equal(sqlShape('select a from t'), undefined, 'nothing to replace');
  });

  it('gives up on what it does not fully understand', () => {
    for (const sql of [
      "select E'\\n'", "select x'1f'", "select U&'d\\0061t'", 'select $1', 'select $$a$$', "select 'a\\'", 'select 1 -- 2', 'select /* 1 */ 2',
      'select 0x1f', 'select 1_000', 'select 12abc', 'select 1.2.3', "select 'open", 'select "open', 'select 1e',
    ])
      assert.equal(sqlShape(sql), undefined, sql);
  });
});

describe('parse cache', () => {
  before(async () => initSqlParser());

  const literal = fc.oneof(
    fc.integer({ min: -1e6, max: 1e12 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).map((d) => String(Math.abs(d))),
    fc.string({ maxLength: 8 }).map((s) => `'${s.replace(/'/g, "''")}'`),
  );
  const ident = fc.constantFrom('t', 't1', 'pgbench_accounts', '"T 2"', 'public.orders', 'x9');
  const template = fc.constantFrom(
    (l: string[], i: string) => `SELECT abalance FROM ${i} WHERE aid = ${l[0]};`,
    (l: string[], i: string) => `delete from ${i} where id = ${l[0]} or ${l[1]} = ${l[2]}`,
    (l: string[], i: string) => `update ${i} set a = ${l[0]}`,
    (l: string[], i: string) => `insert into ${i} values (${l[0]}, ${l[1]}); select ${l[2]}`,
    (l: string[], i: string) => `with w as (delete from ${i} where c = ${l[0]} returning *) select * from w limit ${l[1]}`,
    (l: string[], i: string) => `FETCH ${l[0]} FROM ${i}`,
    (l: string[], _i: string) => `SET statement_timeout TO ${l[0]}`,
    (l: string[], i: string) => `select pg_sleep(${l[0]}) from ${i} where 1 = ${l[1]}`,
    (l: string[], i: string) => `select ${l[0]}${l[1]} from ${i}`,
    (l: string[], _i: string) => `  select ${l[0]} ;  `,
    (l: string[], i: string) => `\tselect a from ${i} where b = ${l[0]};;\n`,
    (l: string[], i: string) => `select ${l[0]} from ${i}; ;select ${l[1]}`,
  );

  it('gives exactly what the parser gives, for statements that differ only in their literals', () => {
    clearParseCache();
    fc.assert(
      fc.property(template, fc.array(literal, { minLength: 3, maxLength: 3 }), ident, (make, lits, id) => {
        const sql = make(lits, id);
        const expected = parseUncached(sql).parse;
        assert.deepEqual(parseSql(sql), expected, sql);
        assert.deepEqual(parseSql(sql), expected, `${sql} (second time)`);
      }),
      { numRuns: 600 },
    );
  });

  it('parses one-statement strings of one shape once', () => {
    clearParseCache();
    let calls = 0;
    const counting = (sql: string) => {
      calls++;
      return parseUncached(sql);
    };
    for (let aid = 1; aid <= 50; aid++) {
      for (const sql of [`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`, ` update t set v = 'x${aid}' where id = ${aid} ; \n`, `select ${aid}`]) {
        assert.deepEqual(cachedParse(sql, counting), parseUncached(sql).parse, sql);
      }
    }
    assert.equal(calls, 3, 'one parse per shape');
  });

  it('returns frozen parses, so a caller cannot change what others get', () => {
    const p = parseSql('select * from t where a = 42');
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.statements[0]) && Object.isFrozen(p.statements[0]!.tables));
  });
});
