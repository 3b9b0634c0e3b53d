import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '@chaperone/observability';
import { approvalsBackend } from '../api-approvals.js';
import { mcpToolsBackend } from '../api-mcp-tools.js';
import { configFrom, withConfig } from '../context.js';
import { checkListenable } from '../preflight.js';
import { runService, startOrExit } from '../run.js';

/** The built web console (services/console/dist), served on api.web; undefined when the package is not installed. */
function consoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@chaperone/console/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

/** Registers `chaperone api`: the gRPC API server, until SIGTERM. */
export function register(program: Command): void {
  withConfig(
    program
      .command('api')
      .summary('run the gRPC API: sessions, replay, SQL and verify for the SOC')
      .description(
        'Run the Chaperone gRPC API (chaperone.v1.Chaperone on api.listen): sessions, replay, read-only SQL and ' +
          'verify over the ClickHouse recording store, for `chaperone sessions|replay|sql|verify` and other clients. ' +
          'Health and metrics on api.http. With api.web (listen + tls), also the web console and its JSON API (/api/v1) over HTTPS. ' +
          'Stops cleanly on SIGTERM or Ctrl-C.',
      ),
  )
    .option('--node-id <id>', 'name of this process in logs (default: node.id or host-pid)')
    .action(async (opts: { config?: string; nodeId?: string }) => {
      const config = configFrom(opts, opts.nodeId ? { nodeId: opts.nodeId } : {});
      const log = createLogger({ name: 'api', level: config.logLevel, nodeId: config.nodeId });
      const listeners = [
        { what: 'gRPC API', setting: 'api.listen', at: config.api.listen },
        { what: 'health and metrics endpoint', setting: 'api.http', at: config.api.http },
        ...(config.api.web ? [{ what: 'web console', setting: 'api.web.listen', at: config.api.web.listen }] : []),
      ];
      await startOrExit('api', () => checkListenable(listeners), log);
      const { startApiServer } = await import('@chaperone/api');
      const mcpTools = mcpToolsBackend(config, log);
      await runService({
        name: 'api',
        log,
        start: async () => {
          const server = await startApiServer(config, { logger: log, approvals: approvalsBackend(config.temporal), mcpTools, ...(config.api.web ? { consoleDir: consoleDir() } : {}) });
          return {
            // A server.stop() that rejects still closes the MCP tools client, and runService exits 1 (no hang).
            stop: async () => {
              try {
                await server.stop();
              } finally {
                await mcpTools.close();
              }
            },
          };
        },
      });
    });
}
