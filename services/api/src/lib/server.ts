import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, type status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { Lifecycle, createLogger, createRegistry, startOpsServer, type Logger, type Registry, errorMessage } from '@chaperone/observability';
import { createStore, type Store } from '@chaperone/store';
import type { ApprovalsBackend } from './approvals.js';
import { mcpToolCalls, type McpToolsBackend } from './mcp-tools.js';
import { Authenticator, type Caller } from './auth.js';
import { createCallRunner, type CallRunner } from './calls.js';
import { kafkaOrderPublisher, type OrderPublisher } from './end-session.js';
import { kafkaLiveFeed, type LiveFeed } from './live-feed.js';
import { createOperations, type Operations } from './operations.js';
import { MAX_MESSAGE_BYTES, chaperoneService } from './proto.js';
import { authorization, replayCall } from './replay-call.js';
import { startWebServer, type WebServer } from './web.js';

export interface ApiServerOptions {
  logger?: Logger;
  registry?: Registry;
  /** @default createStore(config.clickhouse) */
  store?: Store;
  /** Serve /healthz and /metrics on config.api.http. @default true */
  opsServer?: boolean;
  /** The approval workflows (`chaperone api` passes the @chaperone/approvals client); without it the approval calls answer UNIMPLEMENTED. */
  approvals?: ApprovalsBackend;
  /** The MCP tool registry (`chaperone api` passes @chaperone/mcp-tools' Kafka store); without it the MCP tool calls answer UNIMPLEMENTED. */
  mcpTools?: McpToolsBackend;
  /** Where the built console is (services/console/dist); without it the web listener serves the JSON API only. */
  consoleDir?: string;
  /**
   * How long `replay --follow` of a session neither stored nor in Kafka waits for it to start
   * before answering NOT_FOUND (a session just opening is not yet anywhere). @default 10_000
   */
  followStartWaitMs?: number;
}

export interface ApiServer {
  /** The bound gRPC address (`host:port`; the port is real when config asked for 0). */
  readonly address: string;
  readonly lifecycle: Lifecycle;
  readonly opsAddress: AddressInfo | undefined;
  /** The console's HTTPS address (config.api.web), when served. */
  readonly webAddress: AddressInfo | undefined;
  /** Stops accepting calls, lets running ones finish (up to the grace period), closes the store. */
  stop(graceMs?: number): Promise<void>;
}

interface Parts {
  config: Config;
  log: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  store: Store;
  run: CallRunner;
  orders: OrderPublisher;
  operations: Operations;
  liveFeed: LiveFeed;
}

/** What every call needs: logger, metrics, store, the caller's authorization, the operations. */
async function createParts(config: Config, opts: ApiServerOptions): Promise<Parts> {
  const log = opts.logger ?? createLogger({ name: 'api', level: config.logLevel, nodeId: config.nodeId });
  const registry = opts.registry ?? createRegistry({ service: 'api' });
  const store = opts.store ?? createStore(config.clickhouse);
  const auth = await Authenticator.fromConfig(config, log);
  const run = createCallRunner({ auth, log, registry });
  const orders = kafkaOrderPublisher(config, log);
  const operations = createOperations(config, store, opts.approvals, { orders, log });
  const liveFeed = kafkaLiveFeed(config, log);
  return { config, log, registry, lifecycle: new Lifecycle('api'), store, run, orders, operations, liveFeed };
}

/** The chaperone.v1.Chaperone service: each unary call is one operation, run through the call runner. */
function grpcImplementation(p: Parts, opts: ApiServerOptions): UntypedServiceImplementation {
  const { run, operations } = p;
  const mcpTools = mcpToolCalls(opts.mcpTools);
  const unary =
    <Req, Res>(rpc: string, fn: (req: Req, caller: Caller | undefined) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      run(rpc, authorization(call.metadata), (caller) => fn(call.request, caller)).then(
        (res) => cb(null, res),
        (err: { code: status; details: string }) => cb(err),
      );
    };
  return {
    LoginInfo: unary('LoginInfo', operations.LoginInfo),
    WhoAmI: unary('WhoAmI', operations.WhoAmI),
    ListApprovals: unary('ListApprovals', operations.ListApprovals),
    GetApproval: unary('GetApproval', operations.GetApproval),
    DecideApproval: unary('DecideApproval', operations.DecideApproval),
    ListMcpTools: unary('ListMcpTools', (r: { server: string; tool: string; changedOnly: boolean }) => mcpTools.list(r)),
    AcceptMcpTool: unary('AcceptMcpTool', (r: { server: string; tool: string; sha256: string; reason: string }, caller) => mcpTools.accept(r, caller)),
    ListSessions: unary('ListSessions', operations.ListSessions),
    GetSession: unary('GetSession', operations.GetSession),
    EndSession: unary('EndSession', operations.EndSession),
    Query: unary('Query', operations.Query),
    Verify: unary('Verify', operations.Verify),
    Dashboard: unary('Dashboard', operations.Dashboard),
    Replay: replayCall({ config: p.config, store: p.store, run, log: p.log, followStartWaitMs: opts.followStartWaitMs ?? 10_000 }),
  };
}

/** Binds the gRPC server on config.api.listen; the bound port (real when config asked for 0). */
async function bindGrpc(p: Parts, opts: ApiServerOptions): Promise<{ server: Server; port: number }> {
  const server = new Server({ 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  server.addService(chaperoneService().service, grpcImplementation(p, opts));
  const { host, port: wanted } = p.config.api.listen;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${wanted}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { server, port };
}

/** The console (config.api.web) and the ops endpoint (config.api.http); on a failure, what started is closed. */
async function startHttpListeners(p: Parts, opts: ApiServerOptions): Promise<{ web: WebServer | undefined; ops: HttpServer | undefined }> {
  const { config, store } = p;
  let web: WebServer | undefined;
  try {
    if (config.api.web)
      web = await startWebServer({
        ...config.api.web, run: p.run, operations: p.operations, log: p.log, login: config.login, liveFeed: p.liveFeed, ...(opts.consoleDir ? { consoleDir: opts.consoleDir } : {}),
      });
    if (opts.opsServer === false) return { web, ops: undefined };
    const checks = async () => {
      try {
        await store.ping();
        return { clickhouse: { ok: true } };
      } catch (err) {
        return { clickhouse: { ok: false, detail: errorMessage(err) } };
      }
    };
    return { web, ops: await startOpsServer({ ...config.api.http, registry: p.registry, lifecycle: p.lifecycle, checks }) };
  } catch (err) {
    await web?.close();
    throw err;
  }
}

/** Stops accepting calls, lets running ones finish (up to graceMs), then closes the rest in order. */
async function stopAll(p: Parts, server: Server, http: { web: WebServer | undefined; ops: HttpServer | undefined }, graceMs: number): Promise<void> {
  p.lifecycle.to('draining');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  await http.web?.close();
  await p.liveFeed.close();
  await p.orders.close();
  await p.store.close();
  await new Promise<void>((r) => (http.ops ? http.ops.close(() => r()) : r()));
  p.lifecycle.to('stopped');
  p.log.info('API stopped');
}

/** Starts the gRPC API (config.api.listen), the console (config.api.web) and the ops endpoint (config.api.http). */
export async function startApiServer(config: Config, opts: ApiServerOptions = {}): Promise<ApiServer> {
  const p = await createParts(config, opts);
  const { server, port } = await bindGrpc(p, opts);
  const http = await startHttpListeners(p, opts).catch((err: unknown) => {
    server.forceShutdown();
    throw err;
  });
  p.lifecycle.to('running');
  const address = `${config.api.listen.host}:${port}`;
  p.log.info({ address, web: http.web?.address, store: p.store.describe }, 'API listening');
  let stopping: Promise<void> | undefined;
  return {
    address,
    lifecycle: p.lifecycle,
    get opsAddress() {
      return (http.ops?.address() as AddressInfo | null) ?? undefined;
    },
    get webAddress() {
      return http.web?.address;
    },
    stop(graceMs = 10_000) {
      return (stopping ??= stopAll(p, server, http, graceMs));
    },
  };
}
