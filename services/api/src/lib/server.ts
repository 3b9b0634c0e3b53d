import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Server, ServerCredentials, status, type Metadata,
  type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { Lifecycle, createLogger, createRegistry, startOpsServer, type Logger, type Registry, errorMessage } from '@chaperone/observability';
import { createStore, SessionNotFoundError, type Store } from '@chaperone/store';
import type { ApprovalsBackend } from './approvals.js';
import { mcpToolCalls, type McpToolsBackend } from './mcp-tools.js';
import { Authenticator, CallRefused, type Caller } from './auth.js';
import { createCallRunner } from './calls.js';
import { kafkaOrderPublisher } from './end-session.js';
import { followSession } from './follow.js';
import { createOperations } from './operations.js';
import { storedPages } from './stored.js';
import { eventMsg } from './convert.js';
import { MAX_MESSAGE_BYTES, chaperoneService, type ReplayRequest } from './proto.js';
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

/**
 * Live follow reads the session's partition from this long ago, so nothing falls between what the
 * materializer stored and what Kafka still holds (as long as the materializer lags less).
 */
const FOLLOW_OVERLAP_MS = 5 * 60_000;

/** The call's `authorization` metadata, if any. */
const authorization = (md: Metadata): string | undefined => {
  const v = md.get('authorization')[0];
  return v === undefined ? undefined : String(v);
};

/** Whether the first live event comes within `ms` (false on timeout; a Kafka failure rejects). */
async function arrivesWithin(first: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([first.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the gRPC API (config.api.listen) and its ops endpoint (config.api.http). */
export async function startApiServer(config: Config, opts: ApiServerOptions = {}): Promise<ApiServer> {
  const log = opts.logger ?? createLogger({ name: 'api', level: config.logLevel, nodeId: config.nodeId });
  const registry = opts.registry ?? createRegistry({ service: 'api' });
  const lifecycle = new Lifecycle('api');
  const store = opts.store ?? createStore(config.clickhouse);
  const followStartWaitMs = opts.followStartWaitMs ?? 10_000;
  /** A session unknown to the store and silent in Kafka for followStartWaitMs: NOT_FOUND, not a silent wait. */
  const awaitSessionStart = async (id: string, first: Promise<unknown>, reading: Promise<void>): Promise<void> => {
    const stored = await store.getSession(id).then(
      () => true,
      (err: unknown) => {
        if (err instanceof SessionNotFoundError) return false;
        throw err;
      },
    );
    if (stored) return;
    // The wait counts from when the consumer reads the partition: joining its group can take seconds.
    await Promise.race([reading, first]);
    if (await arrivesWithin(first, followStartWaitMs)) return;
    throw new CallRefused(
      status.NOT_FOUND,
      `no session ${id}, recorded or live (waited ${Math.round(followStartWaitMs / 1000)}s for it to start); list sessions with \`chaperone sessions ls\``,
    );
  };
  const auth = await Authenticator.fromConfig(config, log);
  const run = createCallRunner({ auth, log, registry });
  const orders = kafkaOrderPublisher(config, log);
  const operations = createOperations(config, store, opts.approvals, { orders, log });
  const mcpTools = mcpToolCalls(opts.mcpTools);

  const unary =
    <Req, Res>(rpc: string, fn: (req: Req, caller: Caller | undefined) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      run(rpc, authorization(call.metadata), (caller) => fn(call.request, caller)).then(
        (res) => cb(null, res),
        (err: { code: status; details: string }) => cb(err),
      );
    };

  const impl: UntypedServiceImplementation = {
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
    Replay: (call: ServerWritableStream<ReplayRequest, unknown>) => {
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      // Flow control: nothing more is written (or read from the store) until the client has
      // taken what grpc-js buffers, so a slow reader holds the replay at two store pages.
      const send = async (msg: unknown) => {
        if (call.write(msg) || cancelled.signal.aborted) return;
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            cancelled.signal.removeEventListener('abort', done);
            resolve();
          };
          call.once('drain', done);
          cancelled.signal.addEventListener('abort', done, { once: true });
        });
      };
      run('Replay', authorization(call.metadata), async () => {
        const id = call.request.sessionId;
        // With follow, the Kafka consumer starts now, while the stored part streams, so it is
        // reading the session's partition by the time the stored events run out.
        let onReady: () => void = () => undefined;
        const reading = new Promise<void>((r) => (onReady = r));
        const live = call.request.follow
          ? followSession({ kafka: config.kafka, sessionId: id, afterSeq: -1, sinceMs: Date.now() - FOLLOW_OVERLAP_MS, signal: cancelled.signal, log, onReady })
          : undefined;
        const firstLive = live?.next();
        firstLive?.catch(() => undefined);
        try {
          const from = call.request.fromSeq || 0;
          let last: { seq: number; type: string } | undefined;
          for await (const page of storedPages(store, id, from)) {
            for (const e of page) {
              await send(eventMsg(e));
              if (call.cancelled) return;
            }
            last = page.at(-1);
          }
          // NOT_FOUND when unknown; with follow, only once a session just starting had a few seconds to show up.
          if (!last && from === 0) await (firstLive ? awaitSessionStart(id, firstLive, reading) : store.getSession(id));
          if (!live || !firstLive || call.cancelled || last?.type === 'SessionEnded') return;
          const after = last ? last.seq : from - 1;
          const head = await firstLive;
          if (head.done) return;
          for (const e of [head.value]) if (e.seq > after) await send(eventMsg(e));
          if (head.value.type === 'SessionEnded' && head.value.seq > after) return;
          for await (const e of live) {
            if (e.seq <= after) continue;
            await send(eventMsg(e));
            if (call.cancelled) return;
          }
        } finally {
          cancelled.abort();
          await live?.return(undefined);
        }
      }).then(
        () => call.end(),
        // grpc-js sends a stream's status from an 'error' event carrying code and details.
        (err: Error) => call.emit('error', err),
      );
    },
  };

  const server = new Server({ 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  server.addService(chaperoneService().service, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.api.listen.host}:${config.api.listen.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let ops: HttpServer | undefined;
  let web: WebServer | undefined;
  try {
    if (config.api.web)
      web = await startWebServer({ ...config.api.web, run, operations, log, login: config.login, ...(opts.consoleDir ? { consoleDir: opts.consoleDir } : {}) });
    if (opts.opsServer !== false)
      ops = await startOpsServer({
        ...config.api.http, registry, lifecycle,
        checks: async () => {
          try {
            await store.ping();
            return { clickhouse: { ok: true } };
          } catch (err) {
            return { clickhouse: { ok: false, detail: errorMessage(err) } };
          }
        },
      });
  } catch (err) {
    server.forceShutdown();
    await web?.close();
    throw err;
  }
  lifecycle.to('running');
  const address = `${config.api.listen.host}:${port}`;
  log.info({ address, web: web?.address, store: store.describe }, 'API listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    lifecycle,
    get opsAddress() {
      return (ops?.address() as AddressInfo | null) ?? undefined;
    },
    get webAddress() {
      return web?.address;
    },
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        lifecycle.to('draining');
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
        await web?.close();
        await orders.close();
        await store.close();
        await new Promise<void>((r) => (ops ? ops.close(() => r()) : r()));
        lifecycle.to('stopped');
        log.info('API stopped');
      })();
      return stopping;
    },
  };
}
