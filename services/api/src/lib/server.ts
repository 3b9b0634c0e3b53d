import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import {
  Server, ServerCredentials, status,
  type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { loadPublicKey } from '@chaperone/events';
import { Counter, Histogram, Lifecycle, createLogger, createRegistry, startOpsServer, type Logger, type Registry } from '@chaperone/observability';
import { createStore, SessionNotFoundError, StoreError, type SessionFilter, type Store } from '@chaperone/store';
import { approvalCalls, type ApprovalsBackend } from './approvals.js';
import { Authenticator, CallRefused, type Caller } from './auth.js';
import { followSession } from './follow.js';
import { storedPages } from './stored.js';
import { eventMsg, queryMsg, sessionMsg, verifyMsg } from './convert.js';
import { MAX_MESSAGE_BYTES, chaperoneService, type ListSessionsRequest, type QueryRequest, type ReplayRequest } from './proto.js';

export interface ApiServerOptions {
  logger?: Logger;
  registry?: Registry;
  /** @default createStore(config.clickhouse) */
  store?: Store;
  /** Serve /healthz and /metrics on config.api.http. @default true */
  opsServer?: boolean;
  /** The approval workflows (`chaperone api` passes the @chaperone/approvals client); without it the approval calls answer UNIMPLEMENTED. */
  approvals?: ApprovalsBackend;
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
  /** Stops accepting calls, lets running ones finish (up to the grace period), closes the store. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Live follow reads the session's partition from this long ago, so nothing falls between what the
 * materializer stored and what Kafka still holds (as long as the materializer lags less).
 */
const FOLLOW_OVERLAP_MS = 5 * 60_000;

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

function sessionFilter(r: ListSessionsRequest): SessionFilter {
  return {
    ...(r.subject ? { subject: r.subject } : {}),
    ...(r.connection ? { connection: r.connection } : {}),
    ...(r.sinceMicros ? { sinceMicros: r.sinceMicros } : {}),
    ...(r.untilMicros ? { untilMicros: r.untilMicros } : {}),
    ...(r.verdict ? { verdict: r.verdict as SessionFilter['verdict'] } : {}),
    ...(r.state ? { state: r.state as SessionFilter['state'] } : {}),
    limit: r.limit || 100,
  };
}

/** Maps store failures onto gRPC statuses callers can act on. */
function toStatus(err: unknown, rpc: string): { code: status; details: string } {
  if (err instanceof CallRefused) return { code: err.status, details: err.message };
  // The approvals client's errors, by name: the API does not import the approvals service.
  if ((err as Error)?.name === 'ApprovalNotFoundError') return { code: status.NOT_FOUND, details: (err as Error).message };
  if ((err as Error)?.name === 'TemporalUnavailableError') return { code: status.UNAVAILABLE, details: (err as Error).message };
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'NOT_FOUND':
        return { code: status.NOT_FOUND, details: err.message };
      case 'READONLY':
        return { code: status.PERMISSION_DENIED, details: err.message };
      case 'BAD_REQUEST':
        return { code: status.INVALID_ARGUMENT, details: err.message };
      case 'UNAVAILABLE':
        return { code: status.UNAVAILABLE, details: `recording store unavailable: ${err.message}` };
      case 'CLICKHOUSE':
        // In Query the SQL is the caller's: a server refusal is their error to fix.
        return { code: rpc === 'Query' ? status.INVALID_ARGUMENT : status.INTERNAL, details: err.message };
      default:
        return { code: status.INTERNAL, details: err.message };
    }
  }
  return { code: status.INTERNAL, details: (err as Error).message ?? String(err) };
}

function loadTrustedKeys(config: Config): Record<string, KeyObject> {
  return Object.fromEntries(Object.entries(config.recording.trustedNodeKeys).map(([node, file]) => [node, loadPublicKey(file)]));
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
  const trustedKeys = loadTrustedKeys(config);
  const auth = await Authenticator.fromConfig(config, log);
  const calls = new Counter({ name: 'chaperone_api_calls_total', help: 'API calls by method and status', labelNames: ['method', 'code'], registers: [registry] });
  const seconds = new Histogram({ name: 'chaperone_api_call_seconds', help: 'API call duration', labelNames: ['method'], registers: [registry] });

  async function observe<T>(rpc: string, md: ServerUnaryCall<unknown, unknown>['metadata'], fn: (caller: Caller | undefined) => Promise<T>): Promise<T> {
    const end = seconds.startTimer({ method: rpc });
    try {
      const caller = await auth.caller(md, rpc);
      const out = await fn(caller);
      calls.inc({ method: rpc, code: 'OK' });
      log.info({ rpc, caller: caller?.identity.subject, roles: caller?.roles }, 'call');
      return out;
    } catch (err) {
      const s = toStatus(err, rpc);
      calls.inc({ method: rpc, code: status[s.code] });
      log[s.code === status.INTERNAL || s.code === status.UNAVAILABLE ? 'error' : 'info']({ rpc, err }, 'call failed');
      throw Object.assign(new Error(s.details), s);
    } finally {
      end();
    }
  }

  const unary =
    <Req, Res>(rpc: string, fn: (req: Req, caller: Caller | undefined) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      observe(rpc, call.metadata, (caller) => fn(call.request, caller)).then(
        (res) => cb(null, res),
        (err: { code: status; details: string }) => cb(err),
      );
    };

  const approvals = approvalCalls(opts.approvals);
  const impl: UntypedServiceImplementation = {
    LoginInfo: unary('LoginInfo', () => Promise.resolve({ issuer: config.login?.issuer ?? '', clientId: config.login?.clientId ?? '' })),
    WhoAmI: unary('WhoAmI', (_r: unknown, caller: Caller | undefined) => {
      if (!caller) return Promise.reject(new CallRefused(status.UNAUTHENTICATED, 'WhoAmI needs a token'));
      const id = caller.identity;
      return Promise.resolve({ subject: id.subject, issuer: id.issuer, groups: id.groups, roles: caller.roles, expiresMicros: id.expiresAt * 1000, tokenId: id.tokenId });
    }),
    ListApprovals: unary('ListApprovals', (r: { all: boolean; limit: number }) => approvals.list(r)),
    GetApproval: unary('GetApproval', (r: { id: string }) => approvals.get(r)),
    DecideApproval: unary('DecideApproval', (r: { id: string; approve: boolean; reason: string }, caller: Caller | undefined) => approvals.decide(r, caller)),
    ListSessions: unary('ListSessions', async (r: ListSessionsRequest) => ({ sessions: (await store.listSessions(sessionFilter(r))).map(sessionMsg) })),
    GetSession: unary('GetSession', async (r: { sessionId: string }) => sessionMsg(await store.getSession(r.sessionId))),
    Query: unary('Query', async (r: QueryRequest) => queryMsg(await store.query(r.sql, { readonly: true, maxRows: r.maxRows || 10_000 }))),
    Verify: unary('Verify', async (r: { sessionId: string }) => verifyMsg(await store.verifySession(r.sessionId, trustedKeys))),
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
      observe('Replay', call.metadata, async () => {
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
  try {
    if (opts.opsServer !== false)
      ops = await startOpsServer({
        ...config.api.http, registry, lifecycle,
        checks: async () => {
          try {
            await store.ping();
            return { clickhouse: { ok: true } };
          } catch (err) {
            return { clickhouse: { ok: false, detail: (err as Error).message } };
          }
        },
      });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  lifecycle.to('running');
  const address = `${config.api.listen.host}:${port}`;
  log.info({ address, store: store.describe }, 'API listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    lifecycle,
    get opsAddress() {
      return (ops?.address() as AddressInfo | null) ?? undefined;
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
        await store.close();
        await new Promise<void>((r) => (ops ? ops.close(() => r()) : r()));
        lifecycle.to('stopped');
        log.info('API stopped');
      })();
      return stopping;
    },
  };
}
