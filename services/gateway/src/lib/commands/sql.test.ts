import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlParser, parseSql, sqlCommand, SqlParserNotReadyError } from './index.js';

function one(sql: string) {
  const r = parseSql(sql);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.statements.length, 1);
  return r.statements[0]!;
}

describe('parseSql before initSqlParser', () => {
  it('refuses to run before the parser is loaded', () => {
    assert.throws(() => parseSql('select 1'), SqlParserNotReadyError);
  });
});

describe('parseSql', () => {
  before(async () => initSqlParser());

  it('names statement types the way operators write them', () => {
    const cases: [string, string][] = [
      ['select 1', 'SELECT'],
      ['insert into t values (1)', 'INSERT'],
      ['update t set a = 1 where id = 2', 'UPDATE'],
      ['delete from t where id = 2', 'DELETE'],
      ['DROP TABLE public.orders', 'DROP TABLE'],
      ['drop materialized view mv', 'DROP MATERIALIZED VIEW'],
      ['truncate t', 'TRUNCATE'],
      ['alter table t add column c int', 'ALTER TABLE'],
      ['alter table t rename to u', 'ALTER TABLE'],
      ['alter index i rename to j', 'ALTER INDEX'],
      ['create table t (id int)', 'CREATE TABLE'],
      ['create table t2 as select * from t', 'CREATE TABLE AS'],
      ['begin', 'BEGIN'],
      ['start transaction isolation level serializable', 'BEGIN'],
      ['commit', 'COMMIT'],
      ['rollback to savepoint s', 'ROLLBACK TO SAVEPOINT'],
      ['copy t from stdin', 'COPY'],
      ['set search_path = app', 'SET'],
      ['reset all', 'RESET'],
      ['show work_mem', 'SHOW'],
      ['grant select on t to bob', 'GRANT'],
      ['revoke select on t from bob', 'REVOKE'],
      ['vacuum analyze t', 'VACUUM'],
      ['create extension pgcrypto', 'CREATE EXTENSION'],
      ['do $$ begin perform 1; end $$', 'DO'],
      ['select 1 into t3', 'SELECT INTO'],
      ['create role deployer', 'CREATE ROLE'],
    ];
    for (const [sql, type] of cases) assert.equal(one(sql).type, type, sql);
  });

  it('reports schema-qualified tables of joins, subqueries and CTEs, without CTE names', () => {
    const s = one(`WITH recent AS (SELECT customer_id FROM sales.orders WHERE created_at > now() - interval '1 day')
      SELECT c.name, count(*) FROM public.customers c JOIN recent r ON r.customer_id = c.id
      LEFT JOIN LATERAL (SELECT 1 FROM audit.events e WHERE e.customer_id = c.id) ev ON true
      WHERE c.id IN (SELECT customer_id FROM blocked) GROUP BY c.name`);
    assert.equal(s.type, 'SELECT');
    assert.deepEqual(s.tables, ['sales.orders', 'public.customers', 'audit.events', 'blocked']);
    assert.equal(s.hasWhere, true);
    assert.deepEqual(s.functions, ['now', 'count']);
    assert.deepEqual(s.writes, []);
  });

  it('tells a restricting WHERE from none or a constant one', () => {
    assert.equal(one('delete from orders').hasWhere, false);
    assert.equal(one('delete from orders where id in (select order_id from refunds)').hasWhere, true);
    assert.equal(one('update orders set status = 1 where true').hasWhere, false);
    assert.equal(one('update orders set status = 1 where 1 = 1').hasWhere, false);
    assert.equal(one('delete from orders where current of cur').hasWhere, true);
    assert.equal(one('select * from orders').hasWhere, false);
    assert.equal(one('truncate orders').hasWhere, null);
    assert.equal(one('insert into orders select * from staging').hasWhere, null);
  });

  it('handles DELETE ... USING and reports the write', () => {
    const s = one('DELETE FROM public.orders o USING public.customers c WHERE o.customer_id = c.id AND c.deleted');
    assert.equal(s.type, 'DELETE');
    assert.deepEqual(s.tables, ['public.orders', 'public.customers']);
    assert.deepEqual(s.writes, [{ type: 'DELETE', table: 'public.orders', hasWhere: true }]);
  });

  it('finds data-modifying CTEs and EXPLAIN ANALYZE, not plain EXPLAIN', () => {
    const cte = one('WITH gone AS (DELETE FROM orders RETURNING *) INSERT INTO archive.orders SELECT * FROM gone');
    assert.equal(cte.type, 'INSERT');
    assert.deepEqual(cte.tables, ['orders', 'archive.orders']);
    assert.deepEqual(cte.writes, [
      { type: 'INSERT', table: 'archive.orders', hasWhere: null },
      { type: 'DELETE', table: 'orders', hasWhere: false },
    ]);
    assert.deepEqual(one('explain analyze delete from t').writes, [{ type: 'DELETE', table: 't', hasWhere: false }]);
    assert.deepEqual(one('explain (analyze false) delete from t').writes, []);
    assert.deepEqual(one('explain delete from t').writes, []);
  });

  it('lists called functions, schema-qualified when written so', () => {
    const s = one("SELECT pg_sleep(5), pg_catalog.pg_read_file('/etc/passwd'), lower(name) FROM users WHERE id = 1");
    assert.deepEqual(s.functions, ['pg_sleep', 'pg_catalog.pg_read_file', 'lower']);
  });

  it('names dropped relations', () => {
    assert.deepEqual(one('DROP TABLE IF EXISTS public.orders, tmp CASCADE').tables, ['public.orders', 'tmp']);
    assert.deepEqual(one('drop schema app cascade').tables, []);
  });

  it('splits multi-statement strings into their own texts, with multi-byte characters', () => {
    const r = parseSql("BEGIN; UPDATE t SET note = 'héllo ☃' WHERE id = 1;\n  DELETE FROM t ; COMMIT;");
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.statements.map((s) => [s.type, s.text]),
      [
        ['BEGIN', 'BEGIN'],
        ['UPDATE', "UPDATE t SET note = 'héllo ☃' WHERE id = 1"],
        ['DELETE', 'DELETE FROM t'],
        ['COMMIT', 'COMMIT'],
      ],
    );
  });

  it('returns unparseable SQL as a value with the position', () => {
    const r = parseSql('SELEC * FROM orders');
    assert.deepEqual(r.statements, []);
    assert.match(r.error ?? '', /syntax error at or near "SELEC" \(at character 1\)/);
    assert.match(parseSql('select 1; delete from').error ?? '', /syntax error at end of input/);
  });

  it('treats empty and comment-only queries as no statements', () => {
    assert.deepEqual(parseSql(''), { statements: [] });
    assert.deepEqual(parseSql('  ;  '), { statements: [] });
    assert.deepEqual(parseSql('-- nothing'), { statements: [] });
  });

  it('builds the policy command', () => {
    const c = sqlCommand('delete from public.orders; select * from public.orders join items using (id)');
    assert.equal(c.protocol, 'postgres');
    assert.equal(c.action, 'MULTI');
    assert.deepEqual(c.targets, ['public.orders', 'items']);
    assert.equal(sqlCommand('select 1').action, 'SELECT');
    assert.equal(sqlCommand('drop').action, 'UNPARSEABLE');
    assert.equal(sqlCommand('').action, 'EMPTY');
  });
});
