/**
 * The console's JSON API client (services/api web.ts): same origin, the session cookie sent by
 * the browser (HttpOnly: scripts never hold the token after login), and the CSRF header on every
 * unsafe method.
 */

import type {
  WebApprovalSummary, WebCounters, WebDashboard, WebDashboardBucket, WebExchanges, WebQueryResult, WebRole, WebSession, WebTranscript, WebTranscriptCommand, WebVerify,
  WebWhoAmI,
} from '@chaperone/api/web-types';

// The JSON API's own wire types (services/api web-types.ts), under the names the pages use.
export type Role = WebRole;
export type WhoAmI = WebWhoAmI;
export type Counters = WebCounters;
export type Session = WebSession;
export type TranscriptCommand = WebTranscriptCommand;
export type Transcript = WebTranscript;
export type Verify = WebVerify;
export type Approval = WebApprovalSummary;
export type QueryResult = WebQueryResult;

/** GET dashboard: the API's own wire type (services/api web-types.ts). */
export type Dashboard = WebDashboard;
export type DashboardBucket = WebDashboardBucket;
export type DashboardRange = WebDashboard['range'];

/** A refused or failed call: the server's code and its one-line message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-chaperone-console'] = '1';
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`/api/v1/${path}`, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiFailure(res.status, json.error?.code ?? 'UNKNOWN', json.error?.message ?? `${res.status} ${res.statusText}`);
  return json as T;
}

export const qs = (params: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '' && v !== 0) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export const api = {
  login: (token: string) => call<WhoAmI>('POST', 'login', { token }),
  logout: () => call<object>('POST', 'logout', {}),
  whoami: () => call<WhoAmI>('GET', 'whoami'),
  loginInfo: () => call<{ issuer: string; clientId: string; browserLogin: boolean }>('GET', 'login-info'),
  sessions: (f: Record<string, string | number | undefined>) => call<{ sessions: Session[] }>('GET', `sessions${qs(f)}`),
  session: (id: string) => call<Session>('GET', `sessions/${encodeURIComponent(id)}`),
  transcript: (id: string) => call<Transcript>('GET', `sessions/${encodeURIComponent(id)}/transcript`),
  exchanges: (id: string) => call<WebExchanges>('GET', `sessions/${encodeURIComponent(id)}/exchanges`),
  endSession: (id: string, reason: string) => call<Session>('POST', `sessions/${encodeURIComponent(id)}/end`, { reason }),
  verify: (id: string) => call<Verify>('POST', `sessions/${encodeURIComponent(id)}/verify`, {}),
  approvals: (all: boolean) => call<{ approvals: Approval[] }>('GET', `approvals${qs({ all: all ? 'true' : undefined, limit: 100 })}`),
  decide: (id: string, approve: boolean, reason: string) =>
    call<{ approvalId: string; refused: string; status: { state: string } }>('POST', `approvals/${encodeURIComponent(id)}/decision`, { approve, reason }),
  dashboard: (range: DashboardRange) => call<Dashboard>('GET', `dashboard${qs({ range })}`),
  query: (sql: string, maxRows = 1000) => call<QueryResult>('POST', 'query', { sql, maxRows }),
};
