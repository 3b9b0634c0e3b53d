import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbExecutor } from './chdb.js';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { migrate } from './migrate.js';
import { applyRetention } from './retention.js';

const NOW = Date.UTC(2026, 11, 7);

/** An engine without TTL (ClickHouse 18.16): MODIFY TTL is a syntax error; the parts are given. */
function oldEngine(parts: Record<string, string[]>): Executor & { commands: string[] } {
  const commands: string[] = [];
  return {
    database: 'chaperone', describe: 'fake 18.16', commands,
    command(sql: string) {
      commands.push(sql);
      if (/MODIFY TTL/.test(sql)) return Promise.reject(Object.assign(new StoreError('CLICKHOUSE', 'Syntax error'), { engineCode: 62 }));
      return Promise.resolve();
    },
    select<T>(sql: string) {
      const table = /table = '(\w+)'/.exec(sql)![1]!;
      return Promise.resolve((parts[table] ?? []).map((partition) => ({ partition })) as T[]);
    },
  } as unknown as Executor & { commands: string[] };
}

describe('retention', () => {
  it('drops only month partitions wholly older than the retention where there is no TTL', async () => {
    const exec = oldEngine({ events: ['202608', '202609', '202610', '202611', '202612'], sessions: ['202511', '202512'] });
    const report = await applyRetention(exec, { eventsDays: 90, commandsDays: 365, sessionsDays: 365 }, NOW);
    // 90 days before 2026-12-07 is 2026-09-08: August and earlier are wholly older; September is not.
    assert.deepEqual(report.dropped, ['events/202608', 'sessions/202511']);
    assert.deepEqual(report.ttl, []);
    assert.ok(exec.commands.includes('ALTER TABLE events DROP PARTITION 202608'));
  });

  it('keeps everything of a table with 0 days', async () => {
    const exec = oldEngine({ events: ['201001'] });
    assert.deepEqual((await applyRetention(exec, { eventsDays: 0, commandsDays: 0, sessionsDays: 0 }, NOW)).dropped, []);
    assert.equal(exec.commands.length, 0);
  });

  describe('on an engine with TTL (chdb)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-retention-'));
    let exec: Executor | undefined;
    after(async () => {
      await exec?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    it('sets a TTL per table from the configuration, idempotently', async () => {
      exec = await createChdbExecutor({ database: 'retention_test', path: dir });
      await migrate(exec);
      const r = { eventsDays: 30, commandsDays: 400, sessionsDays: 400 };
      assert.deepEqual((await applyRetention(exec, r)).ttl, ['events', 'commands', 'commands_by_subject', 'sessions']);
      await applyRetention(exec, r);
      const [ddl] = await exec.select<{ statement: string }>('SHOW CREATE TABLE retention_test.events');
      assert.match(ddl!.statement, /TTL event_date \+ toIntervalDay\(30\)/);
      const [sessions] = await exec.select<{ statement: string }>('SHOW CREATE TABLE retention_test.sessions');
      assert.match(sessions!.statement, /TTL started_date \+ toIntervalDay\(400\)/);
    });
  });
});
