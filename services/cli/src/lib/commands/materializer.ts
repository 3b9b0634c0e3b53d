import type { Command } from 'commander';
import { createLogger } from '@chaperone/observability';
import { configFrom, withConfig } from '../context.js';
import { checkListenable } from '../preflight.js';
import { exitAfterStop, startOrExit } from '../run.js';

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
      const m = new Materializer({ config, logger: log });
      const stop = () => void m.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await startOrExit('materializer', () => m.start(), log);
      // Runs until stop() or a consumer crash; a failure exits non-zero so a supervisor restarts it.
      await new Promise<void>((resolve) => {
        m.lifecycle.onChange((s) => {
          if (s === 'stopped' || s === 'failed') resolve();
        });
      });
      const failed = m.state === 'failed';
      await m.stop();
      exitAfterStop(log, failed ? 1 : 0);
    });
}
