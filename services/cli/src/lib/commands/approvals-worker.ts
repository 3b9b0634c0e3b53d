import type { Command } from 'commander';
import type { ApprovalsWorkerHandle } from '@chaperone/approvals';
import { createLogger } from '@chaperone/observability';
import { configFrom, UserError, withConfig } from '../context.js';
import { checkListenable } from '../preflight.js';
import { exitAfterStop, exitNow, startOrExit } from '../run.js';

interface Options {
  config?: string;
  nodeId?: string;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Registers `chaperone approvals-worker`. */
export function register(program: Command): void {
  withConfig(program.command('approvals-worker'))
    .summary('run the Temporal worker for just-in-time approvals')
    .description(
      'Run the Temporal worker that executes the approval workflows (a blocked command waits for an ' +
        'approve/deny answer or its TTL) and their activities. It connects to temporal.address, polls ' +
        'temporal.taskQueue in temporal.namespace, and serves /healthz, /livez and /metrics on temporal.http.\n\n' +
        'Runs until SIGTERM or SIGINT, then drains: it stops polling, lets running activities finish ' +
        '(up to 10 s) and exits 0; a second signal exits at once. Logs are JSON on stderr.',
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

  // Signals may arrive while the workflow code is still bundling; remember them and stop as
  // soon as there is a worker to stop, instead of dying with a half-started connection.
  let handle: ApprovalsWorkerHandle | undefined;
  let signalled = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled++;
    if (signalled > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting for the drain');
      log.flush();
      process.exit(130);
    }
    log.info({ signal }, 'stopping the approvals worker (send the signal again to exit at once)');
    void handle?.stop();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
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
  const { startApprovalsWorker, TemporalUnavailableError, WorkflowsNotFoundError } = await import('@chaperone/approvals');
  try {
    try {
      handle = await startApprovalsWorker(config, log);
    } catch (err) {
      if (err instanceof TemporalUnavailableError || err instanceof WorkflowsNotFoundError) exitNow('approvals-worker', err, log);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        const { host, port } = config.temporal.http;
        exitNow('approvals-worker', new UserError(`${host}:${port} (temporal.http, health and metrics) is in use, perhaps by another approvals worker; stop it or set temporal.http`), log);
      }
      exitNow('approvals-worker', err, log);
    }
    if (signalled > 0) void handle.stop();
    log.info({ taskQueue: handle.taskQueue, ops: handle.ops }, 'approvals worker ready');
    await handle.done.catch((err: unknown) => {
      log.error({ err }, 'approvals worker failed');
      exitAfterStop(log, 1);
    });
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
  exitAfterStop(log, 0);
}
