/**
 * The console's JSON API client (services/api web.ts): same origin, the session cookie sent by
 * the browser (HttpOnly: scripts never hold the token after login), and the CSRF header on every
 * unsafe method.
 */

import type { WebDashboard, WebDashboardBucket, WebExchanges } from '@chaperone/api/web-types';

export type Role = 'soc' | 'approver' | 'admin';

export interface WhoAmI {
  subject: string;
  issuer: string;
  groups: string[];
  roles: Role[];
  expiresMicros: number;
}

export interface Counters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  commands: number;
  denied: number;
}

export interface Session {
  sessionId: string;
  subject: string;
  issuer: string;
  groups: string[];
  connection: string;
  protocol: string;
  clientAddress: string;
  tls: boolean;
  nodeId: string;
  startedMicros: number;
  ended: boolean;
  endedMicros: number;
  endReason: string;
  endError: string;
  counters: Counters;
  lastSeq: number;
  sealedBy: string;
  sealed: boolean;
  complete: boolean;
  state: string;
}

export interface TranscriptCommand {
  seq: number;
  tsMicros: number;
  commandId: number;
  action: string;
  text: string;
  targets: string[];
  decision?: { result: string; reasons: string[]; policyRevision: string };
  approval?: { approvalId: string; outcome?: string; approvers?: string[]; reason?: string };
  result: { columns?: string[]; rows: (string | null)[][]; tag?: string; error?: { severity?: string; code?: string; message?: string } };
}

export interface Transcript {
  sessionId: string;
  nodeId: string;
  commands: TranscriptCommand[];
  events: number;
  rowsOmitted: Record<number, number>;
}

export interface Verify {
  sessionId: string;
  status: 'intact' | 'incomplete' | 'broken';
  detail: string;
  events: number;
  lastSeq: number;
  sealedBy: string;
  headHash: string;
}

export interface Approval {
  approvalId: string;
  state: string;
  subject: string;
  connection: string;
  command: string;
  requestedAt: string;
  closedAt?: string;
  approver?: string;
  reason?: string;
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: { cells: { text: string; isNull: boolean }[] }[];
  truncated: boolean;
}

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
