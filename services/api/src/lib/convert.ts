import type { QueryResult, SessionSummary, StoredEvent, VerifyResult } from '@chaperone/store';
import type { EventMsg, QueryResponse, SessionMsg, VerifyResponse } from './proto.js';

export const sessionMsg = (s: SessionSummary): SessionMsg => ({ ...s, groups: [...s.groups], counters: { ...s.counters } });

export const eventMsg = (e: StoredEvent): EventMsg => ({ ...e });

export const queryMsg = (r: QueryResult): QueryResponse => ({
  columns: r.columns,
  rows: r.rows.map((cells) => ({ cells: cells.map((c) => (c === null ? { text: '', isNull: true } : { text: c, isNull: false })) })),
  truncated: r.truncated,
});

export const verifyMsg = (v: VerifyResult): VerifyResponse => ({
  sessionId: v.sessionId,
  status: v.status,
  hasFirstBadSeq: v.firstBadSeq !== undefined,
  firstBadSeq: v.firstBadSeq ?? 0,
  detail: v.detail,
  events: v.events,
  lastSeq: v.lastSeq,
  sealedBy: v.sealedBy ?? '',
  headHash: v.headHash,
  sealedHash: v.sealedHash ?? '',
  sealedIncomplete: v.sealedIncomplete ?? false,
});

/** Back to the store's shapes, for clients. */
export const queryResult = (m: QueryResponse): QueryResult => ({
  columns: m.columns.map((c) => ({ name: c.name, type: c.type })),
  rows: m.rows.map((r) => r.cells.map((c) => (c.isNull ? null : c.text))),
  truncated: m.truncated,
});

export const verifyResult = (m: VerifyResponse): VerifyResult => ({
  sessionId: m.sessionId,
  status: m.status,
  ...(m.hasFirstBadSeq ? { firstBadSeq: m.firstBadSeq } : {}),
  detail: m.detail,
  events: m.events,
  lastSeq: m.lastSeq,
  ...(m.sealedBy ? { sealedBy: m.sealedBy } : {}),
  headHash: m.headHash,
  ...(m.sealedHash ? { sealedHash: m.sealedHash } : {}),
  ...(m.sealedIncomplete ? { sealedIncomplete: true } : {}),
});
