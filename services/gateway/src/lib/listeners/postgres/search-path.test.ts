import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initSqlParser } from '../../commands/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import { decideSql, type DecisionContext } from './commands.js';
import { qualifyTargets, searchPathSchema } from './search-path.js';

describe('search path and qualified targets', () => {
  it('reads the first schema of a SET search_path, and what resets it', () => {
    const cases: [string, string | null | undefined][] = [
      ['SET search_path = app', 'app'],
      ['set search_path to "$user", Sales, public;', 'sales'],
      ['SET SESSION search_path TO "Mixed", public', 'Mixed'],
      ["SET search_path = 'reporting'", 'reporting'],
      ['SET search_path = pg_catalog, "$user"', null],
      ['SET search_path TO DEFAULT', null],
      ['RESET search_path', null],
      ['SET LOCAL search_path = app', undefined],
      ['SET statement_timeout = 5', undefined],
      ['SELECT 1', undefined],
    ];
    for (const [sql, want] of cases) assert.equal(searchPathSchema(sql), want, sql);
  });

  it('qualifies unqualified names in the schema given, else public, and keeps qualified ones', () => {
    assert.deepEqual(qualifyTargets(['orders', 'public.orders', 'app.items']), ['public.orders', 'public.orders', 'app.items']);
    assert.deepEqual(qualifyTargets(['orders'], 'app'), ['app.orders']);
    assert.deepEqual(qualifyTargets([]), []);
  });

  it('qualifies each statement with the path the statements before it set, and keeps it for the session unless refused', async () => {
    await initSqlParser();
    const allow = (text: string): PolicyDecision => ({ result: text.includes('forbidden') ? 'deny' : 'allow', reasons: [], revision: 't', evalMicros: 0, output: {} });
    const ctx = {
      sessionId: 's', clientAddress: '127.0.0.1', nodeId: 'gw', identity: { subject: 'a', issuer: 'i', groups: [], claims: {} },
      connection: { name: 'pg', protocol: 'postgres', labels: {} }, policy: { evaluate: (i: { command: { text: string } }) => allow(i.command.text) },
    } as unknown as DecisionContext;
    const q = (sql: string) => decideSql(sql, ctx).statements.map((st) => st.qualifiedTargets);
    assert.deepEqual(q('SELECT * FROM orders'), [['public.orders']]);
    assert.deepEqual(q('SET search_path = app; SELECT * FROM orders JOIN public.items USING (id)'), [[], ['app.orders', 'public.items']]);
    assert.deepEqual(q('SELECT * FROM orders'), [['app.orders']], 'the session keeps the path it set');
    assert.deepEqual(q('SET search_path = forbidden'), [[]]);
    assert.deepEqual(q('SELECT * FROM orders'), [['app.orders']], 'a refused SET changes nothing');
    assert.deepEqual(q('RESET search_path; SELECT 1 FROM orders'), [[], ['public.orders']]);
  });
});
