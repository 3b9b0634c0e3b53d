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

/** Everything a running worker holds, released in reverse order on stop or failure. */
interface Resources {
  server: Server;
  connection?: NativeConnection;
  answers?: ApprovalsClient;
  endpoint?: InteractivityServer;
}

async function release(r: Resources, log: Logger): Promise<void> {
  await r.endpoint?.close();
  await r.answers?.close().catch(() => undefined);
  await r.connection?.close().catch((err: Error) => log.warn({ err }, 'closing the Temporal connection failed'));
  await closeServer(r.server);
}

/**
 * Connects to Temporal and checks the namespace up front: when Worker.create itself fails on the
 * namespace, SDK 1.24 leaves its workflow threads running and the process never exits.
 */
async function connectTemporal(res: Resources, address: string, namespace: string): Promise<NativeConnection> {
  try {
    res.connection = await NativeConnection.connect({ address });
  } catch (err) {
    throw temporalUnavailable(address, namespace, err);
  }
  try {
    await res.connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    throw /not found/i.test(errorMessage(err)) ? namespaceNotFound(address, namespace, err) : temporalUnavailable(address, namespace, err);
  }
  return res.connection;
}

/**
 * The Slack interactivity endpoint, when approvals.slack is configured. It signals workflows,
 * so it runs here: a worker that answers Slack also runs the workflows it signals.
 */
async function startSlackEndpoint(res: Resources, config: Config, slack: SlackNotifier, registry: Registry, log: Logger): Promise<void> {
  const slackConfig = config.approvals.slack;
  if (!slackConfig) return;
  const answers = (res.answers = await createApprovalsClient(config.temporal));
  const requests = new Counter({
    name: 'chaperone_approvals_slack_requests_total',
    help: 'Slack interactivity requests by result (approve, deny, deny-dialog, rejected, unmapped-user, not-pending, ignored, bad-request, error).',
    labelNames: ['result'],
    registers: [registry],
  });
  res.endpoint = await startInteractivityServer(slackConfig.interactivity, {
    signingSecret: slackConfig.signingSecret,
    approvers: config.approvals.approvers,
    answer: { approve: (id, d) => answers.approve(id, d), deny: (id, d) => answers.deny(id, d) },
    slack,
    log,
    onResult: (result) => requests.inc({ result }),
  });
  log.info({ interactivity: `${slackConfig.interactivity.host}:${res.endpoint.port}`, channel: slackConfig.channel }, 'Slack interactivity endpoint listening');
}

/** The worker's part of start-up after the ops server: Temporal, the Slack endpoint, then the Worker (in that order: see the comments). */
async function createWorker(
  res: Resources,
  config: Config,
  log: Logger,
  metrics: ReturnType<typeof registerWorkerMetrics>,
  registry: Registry,
  opts: StartApprovalsWorkerOptions,
): Promise<Worker> {
  const { address, namespace, taskQueue } = config.temporal;
  // Only now: an installed Temporal Runtime that never gets a connection keeps the process alive.
  useRuntimeLogger(log);
  const ops = { host: config.temporal.http.host, port: (res.server.address() as AddressInfo).port };
  log.info({ address, namespace, taskQueue, ops }, 'connecting to Temporal');
  const connection = await connectTemporal(res, address, namespace);
  const slack = config.approvals.slack && new SlackNotifier(config.approvals.slack, log);
  if (!slack) log.info('approvals.slack is not configured: no Slack prompts; approvers answer with `chaperone approvals approve|deny`');
  // Before the worker: a Worker created and then abandoned keeps the process alive (SDK 1.24).
  if (slack) await startSlackEndpoint(res, config, slack, registry, log);
  return await Worker.create({
    connection,
    namespace,
    taskQueue,
    identity: `${config.nodeId}/approvals-worker`,
    workflowsPath: resolveWorkflowsPath(),
    activities: instrumentActivities(createActivities({ log, nodeId: config.nodeId, ...(slack ? { slack } : {}) }), metrics),
    shutdownGraceTime: opts.shutdownGraceMs ?? 10_000,
  });
}

/** Runs the worker; the promise settles once it has stopped and everything is released (rejects if it failed). */
function runWorker(worker: Worker, res: Resources, lifecycle: Lifecycle, log: Logger): Promise<void> {
  const running = worker.run();
  lifecycle.to('running');
  const done = running.then(
    async () => {
      await release(res, log);
      lifecycle.to('stopped');
    },
    async (err: unknown) => {
      log.error({ err }, 'approvals worker failed');
      lifecycle.to('failed');
      await release(res, log);
      throw err;
    },
  );
  // The owner learns of a failure through `done`; this keeps an unobserved one from crashing the process.
  done.catch(() => undefined);
  return done;
}

type HandleParts = Pick<ApprovalsWorkerHandle, 'taskQueue' | 'ops' | 'interactivity'>;

function handleOf(worker: Worker, lifecycle: Lifecycle, done: Promise<void>, parts: HandleParts): ApprovalsWorkerHandle {
  let stopping: Promise<void> | undefined;
  return {
    lifecycle,
    get state() {
      return lifecycle.state;
    },
    ...parts,
    done,
    stop() {
      stopping ??= (async () => {
        if (lifecycle.state === 'running') {
          lifecycle.to('draining');
          if (worker.getState() === 'RUNNING') worker.shutdown();
        }
        await done.catch(() => undefined);
      })();
      return stopping;
    },
  };
}

/**
 * Starts the approvals worker on config.temporal (address, namespace, taskQueue) with its ops
 * server on config.temporal.http. Resolves once the worker polls its task queue; rejects with
 * TemporalUnavailableError when Temporal cannot be reached. Bundling the workflow code takes
 * a few seconds, during which /livez already answers and /healthz says `starting`.
 */
export async function startApprovalsWorker(config: Config, log: Logger, opts: StartApprovalsWorkerOptions = {}): Promise<ApprovalsWorkerHandle> {
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
  const ops = { host: config.temporal.http.host, port: (server.address() as AddressInfo).port };
  const res: Resources = { server };
  try {
    worker = await createWorker(res, config, wlog, metrics, registry, opts);
  } catch (err) {
    lifecycle.to('failed');
    await release(res, wlog);
    throw err;
  }
  const slack = config.approvals.slack;
  const interactivity = res.endpoint && slack ? { host: slack.interactivity.host, port: res.endpoint.port } : undefined;
  return handleOf(worker, lifecycle, runWorker(worker, res, lifecycle, wlog), { taskQueue: config.temporal.taskQueue, ops, interactivity });
}
