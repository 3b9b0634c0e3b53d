/**
 * Orders to the gateway nodes on the cancel topic (config kafka.cancelTopic), which every node
 * reads in full: a PostgreSQL CancelRequest that reached another node (the gateway's cancel bus),
 * and an administrator's order to end a session (the API's EndSession). Declared once here so the
 * API that writes an order and the nodes that read it cannot disagree on its shape.
 */

/** The end reason a session ended by an administrator records (SessionEnded.reason). */
export const ENDED_BY_ADMIN = 'ended-by-admin';

/** A CancelRequest another node received: its cancel key (a digest, never the secret itself). */
export interface CancelOrder {
  kind: 'cancel';
  key: string;
  from: string;
  /** Epoch milliseconds when it was published. */
  at: number;
}

/** End this session on whichever node holds it, as `by` said, for `reason`. */
export interface EndSessionOrder {
  kind: 'end-session';
  sessionId: string;
  /** The administrator's subject. */
  by: string;
  reason: string;
  from: string;
  at: number;
}

export type SessionControlOrder = CancelOrder | EndSessionOrder;

/** The message value of an order. A cancel keeps the shape older nodes read (no `kind`). */
export function encodeSessionControl(o: SessionControlOrder): string {
  if (o.kind === 'cancel') return JSON.stringify({ key: o.key, from: o.from, at: o.at });
  return JSON.stringify(o);
}

const isStr = (v: unknown): v is string => typeof v === 'string';

/** An order read from the topic, or undefined for anything else (malformed, or a kind this node does not know). */
export function decodeSessionControl(value: string): SessionControlOrder | undefined {
  let m: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(value);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    m = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!isStr(m.from) || typeof m.at !== 'number') return undefined;
  if ((m.kind === undefined || m.kind === 'cancel') && isStr(m.key)) return { kind: 'cancel', key: m.key, from: m.from, at: m.at };
  if (m.kind === 'end-session' && isStr(m.sessionId) && m.sessionId !== '' && isStr(m.by) && isStr(m.reason))
    return { kind: 'end-session', sessionId: m.sessionId, by: m.by, reason: m.reason, from: m.from, at: m.at };
  return undefined;
}
