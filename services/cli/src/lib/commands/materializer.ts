import type { Command } from 'commander';
import { createLogger } from '@chaperone/observability';
import { configFrom, withConfig } from '../context.js';
import { checkListenable } from '../preflight.js';
import { lifecycleDone, runService, startOrExit } from '../run.js';

/** Registers `chaperone materializer`: the Kafka → ClickHouse consumer, until SIGTERM. */
export function register(program: Command): void {
  withConfig(
    program
      .command('materializer')
      .summary('run the materializer: session events from Kafka into ClickHouse')
      .description(
        'Run the materializer: consume session events from Kafka (kafka.topic, group materializer.groupId) and write ' +
          'them into ClickHouse, committing offsets only after ClickHouse accepted them. Applies the ClickHouse schema ' +
          'at start. Health and metrics on materializer.http (/healthz, /metrics). Stops cleanly on SIGTERM or Ctrl-C.',
      ),
  )
    .option('--node-id <id>', 'name of this process in logs (default: node.id or host-pid)')
    .action(async (opts: { config?: string; nodeId?: string }) => {
      const config = configFrom(opts, opts.nodeId ? { nodeId: opts.nodeId } : {});
      const log = createLogger({ name: 'materializer', level: config.logLevel, nodeId: config.nodeId });
      await startOrExit('materializer', () => checkListenable([{ what: 'health and metrics endpoint', setting: 'materializer.http', at: config.materializer.http }]), log);
      const { Materializer } = await import('@chaperone/materializer');
      await runService({
        name: 'materializer',
        log,
        start: async () => {
          const m = new Materializer({ config, logger: log });
          await m.start();
          // Runs until stopped or a consumer crash; a failure exits 1 so a supervisor restarts it.
          return { stop: () => m.stop(), done: lifecycleDone(m.lifecycle) };
        },
      });
    });
}
