import type { Command } from 'commander';
import { GatewayNode } from '@chaperone/gateway';
import { createLogger } from '@chaperone/observability';
import { configFrom, withConfig } from '../context.js';
import { runUntilSignal } from '../run.js';

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
    .addHelpText('after', '\nStops gracefully on SIGTERM/SIGINT: /healthz turns 503, sessions get gateway.drainTimeout to finish.')
    .action(async (opts: { config?: string; nodeId?: string; listen?: { host: string; port: number }; http?: { host: string; port: number } }) => {
      const config = configFrom(opts, { nodeId: opts.nodeId });
      if (opts.listen) config.gateway.postgres.listen = opts.listen;
      if (opts.http) config.gateway.http = opts.http;
      const log = createLogger({ name: 'gateway', level: config.logLevel, nodeId: config.nodeId });
      const node = new GatewayNode({ config, log });
      await node.start();
      await runUntilSignal(log, () => node.stop());
    });
}
