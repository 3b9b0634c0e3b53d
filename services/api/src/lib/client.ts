import { Metadata, type CallOptions, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { QueryResult, SessionFilter, SessionSummary, VerifyResult } from '@chaperone/store';
import { queryResult, verifyResult } from './convert.js';
import { ApiError, fromServiceError } from './errors.js';
import { MAX_MESSAGE_BYTES, chaperoneService, insecure, type EventMsg, type QueryResponse, type SessionMsg, type VerifyResponse } from './proto.js';

export interface ApiClientOptions {
  /** Identity token sent as `authorization: Bearer …`. */
  token?: string;
  /** Per-call deadline. @default 60000 */
  timeoutMs?: number;
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
  /**
   * The stored events of a session in seq order; with `follow`, then its live events from Kafka
   * until SessionEnded (break out of the loop to stop following).
   */
  replay(sessionId: string, opts?: ReplayOptions): AsyncIterable<EventMsg>;
  query(sql: string, maxRows?: number): Promise<QueryResult>;
  verify(sessionId: string): Promise<VerifyResult>;
  close(): void;
}

type Unary = (req: object, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res: unknown) => void) => void;

/** Connects (lazily) to the API at `host:port`. */
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
    close: () => client.close(),
  };
}
