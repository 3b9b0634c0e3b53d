import type { Command } from 'commander';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import { configFrom, withConfig } from '../context.js';
import { checkListenable, checkReadable } from '../preflight.js';
import { runService, startOrExit } from '../run.js';

function hostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new Error(`expected host:port, got "${v}"`);
  return { host: v.slice(0, i), port };
}

/** Registers `chaperone gateway`. */
export function register(program: Command): void {
  withConfig(program.command('gateway'))
    .description('run a gateway node: the PostgreSQL listener and the HTTP proxy (git, OCI, Kubernetes, REST; gateway.httpProxy) that authenticate agents, apply policy and record every frame to Kafka before forwarding it')
    .option('--node-id <id>', 'this node\'s id in recordings and seals (default: config node.id or host-pid)')
    .option('--listen <host:port>', 'PostgreSQL listener address (default: config gateway.postgres.listen)', hostPort)
    .option('--http <host:port>', 'health and metrics address (default: config gateway.http)', hostPort)
    .addHelpText(
      'after',
      '\nExits 1 with one line when a listener cannot bind, the policy bundle cannot load or Kafka cannot be reached at start.\n' +
        'Stops gracefully on SIGTERM/SIGINT: /healthz turns 503, new connections are still accepted for gateway.drainDelay,\n' +
        'sessions get gateway.drainTimeout (counted from the signal) to finish, then it exits 0.',
    )
    .action(async (opts: { config?: string; nodeId?: string; listen?: { host: string; port: number }; http?: { host: string; port: number } }) => {
      const config = configFrom(opts, { nodeId: opts.nodeId });
      if (opts.listen) config.gateway.postgres.listen = opts.listen;
      if (opts.http) config.gateway.http = opts.http;
      const log = createLogger({ name: 'gateway', level: config.logLevel, nodeId: config.nodeId });
      await startOrExit('gateway', () => preflight(config), log);
      // Loaded after the checks: the gateway's modules (SQL parser, policy engine, Kafka, Temporal) take seconds.
      const { GatewayNode } = await import('@chaperone/gateway');
      await runService({
        name: 'gateway',
        log,
        // The node drains within gateway.drainTimeout itself; the deadline only catches a stop that hangs.
        stopDeadlineMs: config.gateway.drainTimeoutMs + 15_000,
        start: async () => {
          const node = new GatewayNode({ config, log });
          await node.start();
          return { stop: () => node.stop() };
        },
      });
    });
}

/** What fails a gateway at once: a taken port, an unreadable policy bundle. */
async function preflight(config: Config): Promise<void> {
  const hp = config.gateway.httpProxy;
  await checkListenable([
    { what: 'health and metrics endpoint', setting: 'gateway.http', at: config.gateway.http },
    { what: 'PostgreSQL listener', setting: 'gateway.postgres.listen', at: config.gateway.postgres.listen },
    ...(hp ? [{ what: 'HTTP proxy listener', setting: 'gateway.httpProxy.listen', at: hp.listen }] : []),
  ]);
  checkReadable('policy bundle', config.policy.bundleFile);
}
