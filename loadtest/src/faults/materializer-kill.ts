/**
 * Fault: SIGKILL the materializer mid-run, then `deploy/local/up --only materializer`.
 *   node --conditions=development --import tsx loadtest/src/faults/materializer-kill.ts --help
 */
import { componentPid, deploy, waitHealthy } from '../fleet/stack.js';
import { faultCommand, isMain } from './command.js';
import type { Fault } from './scenario.js';

export function materializerKill(): Fault {
  return {
    name: 'materializer-kill',
    title: 'SIGKILL the materializer mid-run',
    expectation:
      'Agents notice nothing (the gateways only need Kafka). Events pile up in Kafka while the materializer is down; ' +
      'after the restart it resumes from its last committed offsets, and batches it had written but not committed are ' +
      'written again and collapse in ClickHouse (ReplacingMergeTree on session + seq), so every command is recorded once.',
    cutsSessions: false,
    inject(ctx) {
      const pid = componentPid(ctx.stack, 'materializer');
      process.kill(pid, 'SIGKILL');
      ctx.say(`SIGKILL materializer (pid ${pid})`);
      return Promise.resolve();
    },
    async recover(ctx) {
      await deploy('up', ['--only', 'materializer', '--quiet']);
      await waitHealthy(60_000, ['materializer']);
      ctx.say('materializer back (deploy/local/up --only materializer)');
    },
    verify(_ctx, run) {
      return Promise.resolve(run.report.errors > 0 ? [`agents saw ${run.report.errors} errors (expected none): ${JSON.stringify(run.report.errorsByKind)}`] : []);
    },
  };
}

if (isMain(import.meta.url)) faultCommand(materializerKill());
