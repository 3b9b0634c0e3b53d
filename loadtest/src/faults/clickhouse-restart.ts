/**
 * Fault: restart ClickHouse mid-run (`deploy/local/restart clickhouse`).
 *   node --conditions=development --import tsx loadtest/src/faults/clickhouse-restart.ts --help
 */
import { deploy, waitHealthy } from '../fleet/stack.js';
import { faultCommand, isMain } from './command.js';
import type { Fault } from './scenario.js';

export function clickhouseRestart(): Fault {
  return {
    name: 'clickhouse-restart',
    title: 'restart ClickHouse mid-run',
    expectation:
      'Agents notice nothing (the gateways only need Kafka). The materializer\'s inserts fail while ClickHouse is down; ' +
      'it does not commit those offsets and retries, so once ClickHouse is back every event is written, once.',
    cutsSessions: false,
    async inject(ctx) {
      ctx.say('deploy/local/restart clickhouse');
      await deploy('restart', ['clickhouse']);
    },
    async recover(ctx) {
      await waitHealthy(120_000, ['clickhouse', 'materializer']);
      ctx.say('clickhouse and the materializer healthy');
    },
    verify(_ctx, run) {
      return Promise.resolve(run.report.errors > 0 ? [`agents saw ${run.report.errors} errors (expected none): ${JSON.stringify(run.report.errorsByKind)}`] : []);
    },
  };
}

if (isMain(import.meta.url)) faultCommand(clickhouseRestart());
