import type { Command } from 'commander';
import { createLogger } from '@chaperone/observability';
import { configFrom, UserError, withConfig } from '../context.js';
import { checkListenable } from '../preflight.js';
import { runService, startOrExit } from '../run.js';

interface Options {
  config?: string;
  nodeId?: string;
}

/** Registers `chaperone approvals-worker`. */
export function register(program: Command): void {
  withConfig(program.command('approvals-worker'))
    .summary('run the Temporal worker for just-in-time approvals')
    .description(
      'Run the Temporal worker that executes the approval workflows (a blocked command waits for an ' +
        'approve/deny answer or its TTL) and their activities. It connects to temporal.address, polls ' +
        'temporal.taskQueue in temporal.namespace, and serves /healthz, /livez and /metrics on temporal.http.\n\n' +
        'Runs until SIGTERM or SIGINT, then drains: it stops polling, lets running activities finish ' +
        '(up to 10 s) and exits 0 (1 if it failed or did not stop in time); a second signal exits at once (1). Logs are JSON on stderr.',
    )
    .option('--node-id <id>', 'node id for logs, metrics and the ping activity (default: node.id from the config, else <host>-<pid>)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  chaperone approvals-worker --config deploy/local/.run/chaperone.yaml\n' +
        '  curl -s 127.0.0.1:9401/healthz      # {"ok":true,"state":"running",...} once it polls\n',
    )
    .action(async (opts: Options) => {
      await run(opts);
    });
}

async function run(opts: Options): Promise<void> {
  const config = configFrom(opts, opts.nodeId ? { nodeId: opts.nodeId } : {});
  const log = createLogger({ name: 'approvals-worker', level: config.logLevel, nodeId: config.nodeId });
  const interactivity = config.approvals.slack?.interactivity;
  await startOrExit(
    'approvals-worker',
    () =>
      checkListenable([
        { what: 'health and metrics endpoint', setting: 'temporal.http', at: config.temporal.http },
        ...(interactivity ? [{ what: 'Slack interactivity endpoint', setting: 'approvals.slack.interactivity', at: interactivity }] : []),
      ]),
    log,
  );
  // Loaded after the checks: the Temporal worker's modules take seconds on a busy machine.
  const { startApprovalsWorker } = await import('@chaperone/approvals');
  // A signal while the workflow code is still bundling stops the worker as soon as it polls.
  await runService({
    name: 'approvals-worker',
    log,
    // The worker gives running activities 10 s to finish; the deadline only catches a stop that hangs.
    stopDeadlineMs: 30_000,
    start: async () => {
      const handle = await startApprovalsWorker(config, log).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        const { host, port } = config.temporal.http;
        throw new UserError(`${host}:${port} (temporal.http, health and metrics) is in use, perhaps by another approvals worker; stop it or set temporal.http`);
      });
      log.info({ taskQueue: handle.taskQueue, ops: handle.ops }, 'approvals worker ready');
      return handle;
    },
  });
}
