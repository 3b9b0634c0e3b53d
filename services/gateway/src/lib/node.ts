import type { Server } from 'node:http';
import type { Config } from '@chaperone/config';
import { ENDED_BY_ADMIN, kafkaRequestQueue, loadPrivateKey, type EndSessionOrder } from '@chaperone/events';
import { TokenVerifier } from '@chaperone/identity';
import { Lifecycle, createRegistry, startOpsServer, type Logger, type Registry, errorMessage } from '@chaperone/observability';
import { TemporalApprovalGate, TemporalApprovalWorkflows } from './approvals/index.js';
import { initSqlParser } from './commands/index.js';
import { KafkaCancelBus, PgListener, createPgMetrics } from './listeners/postgres/index.js';
import { HttpListener, createHttpMetrics } from './listeners/http/index.js';
import { PolicyEngine } from './policy/index.js';
import { KafkaSink, kafkaCrc32c, kafkaEncoderGrowth, kafkaProduceEncoding } from './sinks/kafka/index.js';
import { KafkaToolStore } from '@chaperone/mcp-tools';

export interface GatewayNodeOptions {
  config: Config;
  log: Logger;
}

/**
 * One stateless gateway node: the PostgreSQL listener, its recording producer, the policy
 * engine and the ops endpoint. `stop()` drains: the health check turns 503 first so the load
 * balancer stops sending, then sessions get up to `drainTimeoutMs` before they are ended.
 */
export class GatewayNode {
  readonly lifecycle = new Lifecycle('gateway');
  readonly registry: Registry;
  private sink: KafkaSink | undefined;
  private policy: PolicyEngine | undefined;
  private pg: PgListener | undefined;
  private httpProxy: HttpListener | undefined;
  private ops: Server | undefined;
  /** Connects to Temporal only when a statement is first held for approval. */
  private approvals: TemporalApprovalGate | undefined;
  /** Brings CancelRequests that reached another node to the sessions of this one. */
  private cancels: KafkaCancelBus | undefined;
  private mcpTools: KafkaToolStore | undefined;
  pgPort = 0;
  httpProxyPort = 0;

  constructor(private readonly opts: GatewayNodeOptions) {
    this.registry = createRegistry({ service: 'gateway', node: opts.config.nodeId });
  }

  async start(): Promise<void> {
    const { config, log } = this.opts;
    try {
      this.ops = await bound('health and metrics endpoint', 'gateway.http', config.gateway.http, startOpsServer({
        host: config.gateway.http.host,
        port: config.gateway.http.port,
        registry: this.registry,
        lifecycle: this.lifecycle,
        checks: () => ({
          kafka: { ok: this.sink?.healthy ?? false },
          policy: { ok: this.policy?.ready ?? false, detail: this.policy?.revision ?? 'no valid bundle loaded' },
        }),
      }));
      await initSqlParser();
      // Fail fast: a node without a usable bundle at start exits (non-zero, one line) rather than
      // look alive and deny every agent; a bad bundle later keeps the running one (reload).
      this.policy = await PolicyEngine.load(config.policy.bundleFile, log, this.registry).catch((err: Error) => {
        throw new Error(`cannot load the policy bundle ${config.policy.bundleFile}: ${err.message}`, { cause: err });
      });
      this.policy.startWatching(config.policy.reloadIntervalMs);
      this.sink = new KafkaSink({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${config.nodeId}`, topic: config.kafka.topic, log, producers: config.kafka.producers, registry: this.registry });
      await this.sink.start().catch((err: Error) => {
        throw new Error(`cannot reach Kafka (${config.kafka.brokers.join(',')}): ${err.message}`, { cause: err });
      });
      this.cancels = new KafkaCancelBus({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${config.nodeId}`, topic: config.kafka.cancelTopic, nodeId: config.nodeId, log });
      this.cancels.onEndSession((order) => this.endSession(order));
      await this.cancels.start();
      const verifier = await TokenVerifier.fromConfig(config.identity);
      const policy = this.policy;
      this.pg = new PgListener({
        config,
        log,
        verifier,
        sink: this.sink,
        policy: { evaluate: (input) => policy.evaluate(input) },
        nodeKey: loadPrivateKey(config.recording.nodeKeyFile),
        metrics: createPgMetrics(this.registry),
        approvals: (this.approvals = new TemporalApprovalGate(new TemporalApprovalWorkflows(config.temporal, log), config.approvals, log)),
        cancels: this.cancels,
      });
      const pgl = config.gateway.postgres.listen;
      this.pgPort = await bound('PostgreSQL listener', 'gateway.postgres.listen', pgl, this.pg.listen(pgl.host, pgl.port));
      const hp = config.gateway.httpProxy;
      if (hp) {
        // MCP servers' tool definitions are pinned in a registry all nodes share (issue #15).
        if (config.connections.some((c) => c.http?.kind === 'mcp')) {
          this.mcpTools = new KafkaToolStore({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${config.nodeId}`, topic: config.kafka.mcpToolsTopic, log });
          await this.mcpTools.start();
        }
        const mcpTools = this.mcpTools ? { mcpTools: this.mcpTools } : {};
        this.httpProxy = new HttpListener({ config, log, verifier, sink: this.sink, policy: { evaluate: (input) => policy.evaluate(input) }, nodeKey: loadPrivateKey(config.recording.nodeKeyFile), metrics: createHttpMetrics(this.registry), approvals: this.approvals, ...mcpTools });
        this.httpProxyPort = await bound('HTTP proxy listener', 'gateway.httpProxy.listen', hp.listen, this.httpProxy.listen(hp.listen.host, hp.listen.port));
        log.info({ httpProxy: `${hp.listen.host}:${this.httpProxyPort}`, tls: hp.tls !== undefined }, 'http proxy listening');
      }
      this.lifecycle.to('running');
      log.info({ postgres: `${config.gateway.postgres.listen.host}:${this.pgPort}`, http: `${config.gateway.http.host}:${config.gateway.http.port}`, policy: this.policy.revision, kafkaRecordCrc: kafkaCrc32c, kafkaEncoderGrowth, kafkaProduceEncoding, kafkaRequestQueue }, 'gateway node running');
    } catch (err) {
      this.lifecycle.to('failed');
      await this.shutdown();
      throw err;
    }
  }

  /**
   * An administrator's order to end a session (API EndSession, through the cancel bus): the node
   * holding it ends it with reason ENDED_BY_ADMIN; the others have nothing to do.
   */
  endSession(order: EndSessionOrder): boolean {
    const why = order.reason ? `: ${order.reason}` : '';
    const error = `ended by ${order.by}${why}`;
    // What the agent is told: psql in its FATAL, an HTTP agent in the 403 that answers its request.
    const notice = `chaperone: an administrator (${order.by}) ended this session${why}`;
    const ended = (this.pg?.endSessionById(order.sessionId, ENDED_BY_ADMIN, error, notice) ?? false) || (this.httpProxy?.endSessionById(order.sessionId, ENDED_BY_ADMIN, error, notice) ?? false);
    if (ended) this.opts.log.warn({ session: order.sessionId, by: order.by, reason: order.reason, audit: 'end-session' }, 'session ended by an administrator');
    return ended;
  }

  /** Graceful drain, then stop. */
  async stop(): Promise<void> {
    if (this.lifecycle.state !== 'running') return;
    const { config, log } = this.opts;
    this.lifecycle.to('draining');
    const deadline = Date.now() + config.gateway.drainTimeoutMs;
    // /healthz answers 503 now; keep accepting until the load balancer has noticed, or the
    // connections it still routes here would be refused (gateway.drainDelay).
    await new Promise((r) => setTimeout(r, config.gateway.drainDelayMs));
    // PgListener.close() resolves only once every connection is gone: awaiting it would never
    // reach the deadline below while a client keeps its session open.
    void this.pg?.close();
    await this.httpProxy?.close();
    while ((this.pg?.sessions.size ?? 0) + (this.httpProxy?.sessions.size ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await this.httpProxy?.endAll('drain');
    if ((this.pg?.sessions.size ?? 0) > 0) {
      log.info({ sessions: this.pg?.sessions.size }, 'drain deadline reached; ending open sessions');
      await this.pg?.endAll('drain');
    }
    await this.shutdown();
    this.lifecycle.to('stopped');
  }

  private async shutdown(): Promise<void> {
    // After a failed start a listener may be bound: close it, or the process lingers half alive.
    void this.pg?.close();
    void this.httpProxy?.close();
    this.policy?.stop();
    await this.approvals?.close();
    await this.cancels?.stop();
    await this.mcpTools?.stop();
    await this.sink?.stop().catch(() => {});
    await new Promise<void>((resolve) => (this.ops ? this.ops.close(() => resolve()) : resolve()));
  }
}

/** A listener's bind error as one line that names the address and the setting to change. */
async function bound<T>(what: string, setting: string, at: { host: string; port: number }, listening: Promise<T>): Promise<T> {
  try {
    return await listening;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new Error(`cannot bind the ${what} on ${at.host}:${at.port} (${setting}): ${why}`, { cause: err });
  }
}
