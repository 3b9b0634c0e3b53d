import { Metadata, type CallOptions, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { QueryResult, SessionFilter, SessionSummary, VerifyResult } from '@chaperone/store';
import { queryResult, verifyResult } from './convert.js';
import type { DashboardRangeName, DashboardView } from './dashboard.js';
import { ApiError, fromServiceError } from './errors.js';
import { MAX_MESSAGE_BYTES, chaperoneService, insecure, type EventMsg, type QueryResponse, type SessionMsg, type VerifyResponse } from './proto.js';

export interface ApiClientOptions {
  /** Identity token sent as `authorization: Bearer …`. */
  token?: string;
  /** Per-call deadline. @default 60000 */
  timeoutMs?: number;
}

export interface WhoAmI {
  subject: string;
  issuer: string;
  groups: string[];
  roles: string[];
  expiresMicros: number;
  tokenId: string;
}

export interface ReplayOptions {
  /** Start at this seq. @default 0 */
  fromSeq?: number;
  /** Keep streaming live events until the session ends. @default false */
  follow?: boolean;
}

/** A typed, promise-based client of the Chaperone gRPC API. */
export interface ApiClient {
  readonly address: string;
  listSessions(filter?: SessionFilter): Promise<SessionSummary[]>;
  getSession(sessionId: string): Promise<SessionSummary>;
  /** Ends an open session on whichever gateway node holds it (admin); the session once its end is stored. */
  endSession(sessionId: string, reason?: string): Promise<SessionSummary>;
  /**
   * The stored events of a session in seq order; with `follow`, then its live events from Kafka
   * until SessionEnded (break out of the loop to stop following).
   */
  replay(sessionId: string, opts?: ReplayOptions): AsyncIterable<EventMsg>;
  query(sql: string, maxRows?: number): Promise<QueryResult>;
  verify(sessionId: string): Promise<VerifyResult>;
  /** Activity over a range (1h, 24h or 7d), recording lag and service health, as the console's dashboard shows it. */
  dashboard(range?: DashboardRangeName): Promise<DashboardView>;
  /** Where people log in; issuer '' when the API has no login configured. */
  loginInfo(): Promise<{ issuer: string; clientId: string }>;
  /** The caller's own token as the API sees it. */
  whoami(): Promise<WhoAmI>;
  /** Approvals as JSON values of @chaperone/approvals (ApprovalSummary[]). */
  listApprovals(opts?: { all?: boolean; limit?: number }): Promise<unknown[]>;
  /** One approval's status (ApprovalStatus), by id or unique prefix. */
  getApproval(id: string): Promise<{ approvalId: string; status: unknown }>;
  /** Approves or denies as the token's identity; `refused` says why the workflow did not count it. */
  decideApproval(id: string, approve: boolean, reason?: string): Promise<{ approvalId: string; status: unknown; refused: string | undefined }>;
  /** MCP tool registry entries (ToolView of @chaperone/mcp-tools), filtered by server, tool, changed only. */
  listMcpTools(opts?: { server?: string; tool?: string; changedOnly?: boolean }): Promise<unknown[]>;
  /** Accepts a tool's current definition (or exactly `sha256`) as its pin, as the token's identity. */
  acceptMcpTool(server: string, tool: string, opts?: { sha256?: string; reason?: string }): Promise<unknown>;
  close(): void;
}

type Unary = (req: object, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res: unknown) => void) => void;

/**
 * Connects (lazily) to the API at `host:port`. Longer than a screen only as a table: one short
 * method per RPC of ApiClient, each mapping its arguments onto the request message.
 */
export function createApiClient(address: string, opts: ApiClientOptions = {}): ApiClient {
  const { Client: Ctor } = chaperoneService();
  // A replayed event of a large frame goes past grpc-js' 4 MB default.
  const options = { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES };
  const client = new Ctor(address, insecure(), options) as Client & Record<string, unknown>;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const metadata = () => {
    const md = new Metadata();
    if (opts.token) md.set('authorization', `Bearer ${opts.token}`);
    return md;
  };
  const call = <T>(method: string, req: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      (client[method] as Unary).call(client, req, metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(fromServiceError(err, address)) : resolve(res as T),
      );
    });

  return {
    address,
    async listSessions(filter: SessionFilter = {}) {
      const res = await call<{ sessions: SessionMsg[] }>('ListSessions', {
        subject: filter.subject ?? '', connection: filter.connection ?? '', sinceMicros: filter.sinceMicros ?? 0, limit: filter.limit ?? 0,
        untilMicros: filter.untilMicros ?? 0, verdict: filter.verdict ?? '', state: filter.state ?? '',
      });
      return res.sessions;
    },
    getSession: (sessionId) => call<SessionMsg>('GetSession', { sessionId }),
    endSession: (sessionId, reason = '') => call<SessionMsg>('EndSession', { sessionId, reason }),
    async *replay(sessionId, o: ReplayOptions = {}) {
      const req = { sessionId, fromSeq: o.fromSeq ?? 0, follow: o.follow ?? false };
      const stream = (client.Replay as (req: object, md: Metadata) => ClientReadableStream<EventMsg>).call(client, req, metadata());
      try {
        for await (const e of stream as AsyncIterable<EventMsg>) yield e;
      } catch (err) {
        throw err instanceof ApiError ? err : fromServiceError(err, address);
      } finally {
        stream.cancel();
      }
    },
    async query(sql, maxRows = 0) {
      return queryResult(await call<QueryResponse>('Query', { sql, maxRows }));
    },
    async verify(sessionId) {
      return verifyResult(await call<VerifyResponse>('Verify', { sessionId }));
    },
    dashboard: (range = '1h') => call<DashboardView>('Dashboard', { range }),
    whoami: () => call<WhoAmI>('WhoAmI', {}),
    loginInfo: () => call<{ issuer: string; clientId: string }>('LoginInfo', {}),
    async listApprovals(o = {}) {
      return JSON.parse((await call<{ json: string }>('ListApprovals', { all: o.all ?? false, limit: o.limit ?? 0 })).json) as unknown[];
    },
    async getApproval(id) {
      const r = await call<{ approvalId: string; json: string }>('GetApproval', { id });
      return { approvalId: r.approvalId, status: JSON.parse(r.json) as unknown };
    },
    async decideApproval(id, approve, reason = '') {
      const r = await call<{ approvalId: string; json: string; refused: string }>('DecideApproval', { id, approve, reason });
      return { approvalId: r.approvalId, status: JSON.parse(r.json) as unknown, refused: r.refused || undefined };
    },
    async listMcpTools(o = {}) {
      return JSON.parse((await call<{ json: string }>('ListMcpTools', { server: o.server ?? '', tool: o.tool ?? '', changedOnly: o.changedOnly ?? false })).json) as unknown[];
    },
    async acceptMcpTool(server, tool, o = {}) {
      return (JSON.parse((await call<{ json: string }>('AcceptMcpTool', { server, tool, sha256: o.sha256 ?? '', reason: o.reason ?? '' })).json) as unknown[])[0];
    },
    close: () => client.close(),
  };
}
