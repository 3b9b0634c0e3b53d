import type { KeyObject } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { loadPublicKey } from '@chaperone/events';
import { SessionNotFoundError, type SessionFilter, type Store } from '@chaperone/store';
import { approvalCalls, type ApprovalsBackend } from './approvals.js';
import { CallRefused, type Caller } from './auth.js';
import { dashboardCall } from './dashboard.js';
import { endSessionCall, type OrderPublisher } from './end-session.js';
import { eventMsg, queryMsg, sessionMsg, verifyMsg } from './convert.js';
import type { Logger } from '@chaperone/observability';
import type { ListSessionsRequest, QueryRequest } from './proto.js';
import { storedPages } from './stored.js';
import { TranscriptBuilder, type Transcript } from './transcript/transcript.js';
import { ExchangeBuilder } from './web-exchanges.js';
import type { WebExchanges, WebTranscript, WebWhoAmI } from './web-types.js';

/** Result rows a transcript for the console keeps per command; the rest are only counted. */
export const TRANSCRIPT_ROWS = 500;

/**
 * A stored session rebuilt for the console: commands with at most TRANSCRIPT_ROWS rows each. It
 * extends the console's wire type too, so the compiler keeps the two in step.
 */
export interface TranscriptView extends Transcript, WebTranscript {
  /** Rows left out per command seq (past TRANSCRIPT_ROWS). */
  rowsOmitted: Record<number, number>;
}

function sessionFilter(r: Partial<ListSessionsRequest>): SessionFilter {
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

function loadTrustedKeys(config: Config): Record<string, KeyObject> {
  return Object.fromEntries(Object.entries(config.recording.trustedNodeKeys).map(([node, file]) => [node, loadPublicKey(file)]));
}

/**
 * Every unary operation of the API, once: the gRPC service (server.ts) and the console's JSON API
 * (web.ts) both call these, after authorizing the caller for the operation's name (auth.ts NEEDS).
 */
export function createOperations(config: Config, store: Store, backend: ApprovalsBackend | undefined, control?: { orders: OrderPublisher; log: Logger }) {
  const trustedKeys = loadTrustedKeys(config);
  const approvals = approvalCalls(backend);
  return {
    LoginInfo: () => Promise.resolve({ issuer: config.login?.issuer ?? '', clientId: config.login?.clientId ?? '' }),
    WhoAmI: (_r: unknown, caller: Caller | undefined): Promise<WebWhoAmI> => {
      if (!caller) return Promise.reject(new CallRefused(status.UNAUTHENTICATED, 'WhoAmI needs a token'));
      const id = caller.identity;
      return Promise.resolve({ subject: id.subject, issuer: id.issuer, groups: id.groups, roles: caller.roles, expiresMicros: id.expiresAt * 1000, tokenId: id.tokenId });
    },
    ListApprovals: (r: { all: boolean; limit: number }) => approvals.list(r),
    GetApproval: (r: { id: string }) => approvals.get(r),
    DecideApproval: (r: { id: string; approve: boolean; reason: string }, caller: Caller | undefined) => approvals.decide(r, caller),
    ListSessions: async (r: Partial<ListSessionsRequest>) => ({ sessions: (await store.listSessions(sessionFilter(r))).map(sessionMsg) }),
    GetSession: async (r: { sessionId: string }) => sessionMsg(await store.getSession(r.sessionId)),
    /** Ends an open session on whichever gateway node holds it (admin; end-session.ts). */
    EndSession: control
      ? endSessionCall({ store, orders: control.orders, log: control.log, nodeId: config.nodeId })
      : () => Promise.reject(new CallRefused(status.UNIMPLEMENTED, 'this API was started without a way to reach the gateway nodes')),
    Query: async (r: QueryRequest) => queryMsg(await store.query(r.sql, { readonly: true, maxRows: r.maxRows || 10_000 })),
    Verify: async (r: { sessionId: string }) => verifyMsg(await store.verifySession(r.sessionId, trustedKeys)),
    /** Activity over the last hour, day or week, recording lag and the health of what the API reaches (dashboard.ts). */
    Dashboard: dashboardCall(config, store),
    /** The stored part of Replay (the same paging), rebuilt as a transcript; authorized as Replay. */
    Transcript: async (r: { sessionId: string }): Promise<TranscriptView> => {
      const rowsOmitted: Record<number, number> = {};
      const b = new TranscriptBuilder({
        onRow: (cmd, row) => {
          if (cmd.result.rows.length < TRANSCRIPT_ROWS) cmd.result.rows.push(row);
          else rowsOmitted[cmd.seq] = (rowsOmitted[cmd.seq] ?? 0) + 1;
        },
      });
      await pushStored(store, r.sessionId, b);
      return { ...b.t, rowsOmitted };
    },
    /** The stored session's HTTP exchanges (HTTP, git, OCI, Kubernetes, MCP) and exec tunnels, for the console; authorized as Replay. */
    Exchanges: async (r: { sessionId: string }): Promise<WebExchanges> => {
      const b = new ExchangeBuilder();
      await pushStored(store, r.sessionId, b);
      return b.result();
    },
  };
}

/** Feeds every stored event of a session, page by page, to a view builder; NOT_FOUND when it has none. */
async function pushStored(store: Store, sessionId: string, b: { push(e: ReturnType<typeof eventMsg>): void }): Promise<void> {
  let any = false;
  for await (const page of storedPages(store, sessionId, 0))
    for (const e of page) {
      any = true;
      b.push(eventMsg(e));
    }
  if (!any) {
    await store.getSession(sessionId); // the store's NOT_FOUND when the session is unknown
    throw new SessionNotFoundError(sessionId);
  }
}

export type Operations = ReturnType<typeof createOperations>;
export type OperationName = keyof Operations;
