import type { Command } from 'commander';
import { startApiServer } from '@chaperone/api';
import { approvalsBackend } from '../api-approvals.js';
import { configFrom, withConfig } from '../context.js';

/** Registers `chaperone api`: the gRPC API server, until SIGTERM. */
export function register(program: Command): void {
  withConfig(
    program
      .command('api')
      .summary('run the gRPC API: sessions, replay, SQL and verify for the SOC')
      .description(
        'Run the Chaperone gRPC API (chaperone.v1.Chaperone on api.listen): sessions, replay, read-only SQL and ' +
          'verify over the ClickHouse recording store, for `chaperone sessions|replay|sql|verify` and other clients. ' +
          'Health and metrics on api.http. Stops cleanly on SIGTERM or Ctrl-C.',
      ),
  )
    .option('--node-id <id>', 'name of this process in logs (default: node.id or host-pid)')
    .action(async (opts: { config?: string; nodeId?: string }) => {
      const config = configFrom(opts, opts.nodeId ? { nodeId: opts.nodeId } : {});
      const server = await startApiServer(config, { approvals: approvalsBackend(config.temporal) });
      await new Promise<void>((resolve) => {
        const stop = () => void server.stop().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
