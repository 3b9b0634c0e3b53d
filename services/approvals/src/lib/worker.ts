import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '@chaperone/config';
import { Counter, createRegistry, Lifecycle, startOpsServer, type Logger, type Registry, type State, errorMessage } from '@chaperone/observability';
import { createActivities } from './activities.js';
import { createApprovalsClient, type ApprovalsClient } from './client.js';
import { startInteractivityServer, type InteractivityServer } from './slack/interactivity.js';
import { SlackNotifier } from './slack/notifier.js';
import { namespaceNotFound, temporalUnavailable, WorkflowsNotFoundError } from './errors.js';
import { instrumentActivities, registerWorkerMetrics } from './metrics.js';
import { useRuntimeLogger } from './runtime.js';

export interface StartApprovalsWorkerOptions {
  /** Registry served on /metrics. @default createRegistry({ service: 'approvals-worker', node: config.nodeId }) */
  registry?: Registry;
  /** How long running activities may finish after stop() before they are cancelled. @default 10000 */
  shutdownGraceMs?: number;
}

export interface ApprovalsWorkerHandle {
  readonly lifecycle: Lifecycle;
  readonly state: State;
  readonly taskQueue: string;
  /** Where /healthz, /livez and /metrics listen (the real port when the config says port 0). */
  readonly ops: { host: string; port: number };
  /** Where the Slack interactivity endpoint listens (POST /slack/interactivity); undefined without approvals.slack. */
  readonly interactivity: { host: string; port: number } | undefined;
  /** Settles once the worker has stopped: resolves after stop(), rejects if the worker failed. */
  readonly done: Promise<void>;
  /** Drains (no new tasks, running activities get the grace period) and releases everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Where the workflow code is, for Temporal's bundler: `workflows.js` next to this file when
 * running from dist, `workflows.ts` when running from src under tsx (development condition).
 */
export function resolveWorkflowsPath(): string {
  const tried: string[] = [];
  for (const ext of ['.js', '.ts']) {
    const path = fileURLToPath(new URL(`./workflows${ext}`, import.meta.url));
    if (existsSync(path)) return path;
    tried.push(path);
  }
  throw new WorkflowsNotFoundError(`workflow code not found (tried ${tried.join(', ')}); rebuild with \`npx nx run approvals:build\``);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts the approvals worker on config.temporal (address, namespace, taskQueue) with its ops
 * server on config.temporal.http. Resolves once the worker polls its task queue; rejects with
 * TemporalUnavailableError when Temporal cannot be reached. Bundling the workflow code takes
 * a few seconds, during which /livez already answers and /healthz says `starting`.
 */
export async function startApprovalsWorker(config: Config, log: Logger, opts: StartApprovalsWorkerOptions = {}): Promise<ApprovalsWorkerHandle> {
  const { address, namespace, taskQueue } = config.temporal;
  const wlog = log.child({ component: 'approvals-worker' });
  const lifecycle = new Lifecycle('approvals-worker');
  lifecycle.onChange((state) => wlog.info({ state }, `approvals worker ${state}`));

  let worker: Worker | undefined;
  const registry = opts.registry ?? createRegistry({ service: 'approvals-worker', node: config.nodeId });
  const metrics = registerWorkerMetrics(registry, lifecycle, () => worker);
  const server = await startOpsServer({
    ...config.temporal.http,
    registry,
    lifecycle,
    checks: () => {
      const s = worker?.getState();
      return { temporalWorker: { ok: s === 'RUNNING', detail: s ?? 'connecting' } };
    },
  });
  const { port } = server.address() as AddressInfo;
  const ops = { host: config.temporal.http.host, port };

  let answers: ApprovalsClient | undefined;
  let endpoint: InteractivityServer | undefined;
  const fail = async (err: unknown, connection?: NativeConnection): Promise<never> => {
    lifecycle.to('failed');
    await endpoint?.close();
    await answers?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await closeServer(server);
    throw err;
  };

  // Only now: an installed Temporal Runtime that never gets a connection keeps the process alive.
  useRuntimeLogger(log);
  wlog.info({ address, namespace, taskQueue, ops }, 'connecting to Temporal');
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (err) {
    return fail(temporalUnavailable(address, namespace, err));
  }
  try {
    // Checked up front: when Worker.create itself fails on the namespace, SDK 1.24 leaves its
    // workflow threads running and the process never exits.
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    const e = /not found/i.test(errorMessage(err)) ? namespaceNotFound(address, namespace, err) : temporalUnavailable(address, namespace, err);
    return fail(e, connection);
  }
  const slackConfig = config.approvals.slack;
  const slack = slackConfig && new SlackNotifier(slackConfig, wlog);
  if (!slack) wlog.info('approvals.slack is not configured: no Slack prompts; approvers answer with `chaperone approvals approve|deny`');
  try {
    // Before the worker: a Worker created and then abandoned keeps the process alive (SDK 1.24).
    if (slack && slackConfig) {
      // The endpoint signals workflows; it runs here so that a worker that answers Slack also runs the workflows it signals.
      answers = await createApprovalsClient(config.temporal);
      const requests = new Counter({
        name: 'chaperone_approvals_slack_requests_total',
        help: 'Slack interactivity requests by result (approve, deny, deny-dialog, rejected, unmapped-user, not-pending, ignored, bad-request, error).',
        labelNames: ['result'],
        registers: [registry],
      });
      const client = answers;
      endpoint = await startInteractivityServer(slackConfig.interactivity, {
        signingSecret: slackConfig.signingSecret,
        approvers: config.approvals.approvers,
        answer: { approve: (id, d) => client.approve(id, d), deny: (id, d) => client.deny(id, d) },
        slack,
        log: wlog,
        onResult: (result) => requests.inc({ result }),
      });
      wlog.info({ interactivity: `${slackConfig.interactivity.host}:${endpoint.port}`, channel: slackConfig.channel }, 'Slack interactivity endpoint listening');
    }
    worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      identity: `${config.nodeId}/approvals-worker`,
      workflowsPath: resolveWorkflowsPath(),
      activities: instrumentActivities(createActivities({ log: wlog, nodeId: config.nodeId, ...(slack ? { slack } : {}) }), metrics),
      shutdownGraceTime: opts.shutdownGraceMs ?? 10_000,
    });
  } catch (err) {
    return fail(err, connection);
  }

  const w = worker;
  const running = w.run();
  lifecycle.to('running');
  const release = async () => {
    await endpoint?.close();
    await answers?.close().catch(() => undefined);
    await connection.close().catch((err: Error) => wlog.warn({ err }, 'closing the Temporal connection failed'));
    await closeServer(server);
  };
  const done = running.then(
    async () => {
      await release();
      lifecycle.to('stopped');
    },
    async (err: unknown) => {
      wlog.error({ err }, 'approvals worker failed');
      lifecycle.to('failed');
      await release();
      throw err;
    },
  );
  // The owner learns of a failure through `done`; this keeps an unobserved one from crashing the process.
  done.catch(() => undefined);

  let stopping: Promise<void> | undefined;
  return {
    lifecycle,
    get state() {
      return lifecycle.state;
    },
    taskQueue,
    ops,
    interactivity: endpoint && slackConfig ? { host: slackConfig.interactivity.host, port: endpoint.port } : undefined,
    done,
    stop() {
      stopping ??= (async () => {
        if (lifecycle.state === 'running') {
          lifecycle.to('draining');
          if (w.getState() === 'RUNNING') w.shutdown();
        }
        await done.catch(() => undefined);
      })();
      return stopping;
    },
  };
}
