import type { Command } from 'commander';
import { Materializer } from '@chaperone/materializer';
import { configFrom, withConfig } from '../context.js';

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
      const m = new Materializer({ config });
      const stop = () => void m.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await m.start();
      // Runs until stop() or a consumer crash; a failure exits non-zero so a supervisor restarts it.
      await new Promise<void>((resolve) => {
        m.lifecycle.onChange((s) => {
          if (s === 'stopped' || s === 'failed') resolve();
        });
      });
      if (m.state === 'failed') {
        await m.stop();
        process.exitCode = 1;
      }
    });
}
