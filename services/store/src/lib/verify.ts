import type { KeyObject } from 'node:crypto';
import { ZERO_HASH, chainHash, decodeEventBody, verifySeal, type SessionEvent } from '@chaperone/events';
import { EVENT_COLUMNS, toEventRow, type EventRow } from './rows.js';
import { verifyIncompleteSeal } from './seal.js';
import type { IncompleteSeal, TrustedKeys, VerifyResult, VerifyStatus } from './types.js';
import { errorMessage } from '@chaperone/observability';

/** Every column of `events`, compared between a stored row and the row its own Avro projects to. */
const COMPARED = EVENT_COLUMNS.map((c) => c.name) as (keyof EventRow)[];

/**
 * Columns added by migration 002: rows stored before it hold the defaults. A default there is
 * accepted (the Avro, which replay reads, still says what was masked); any other value must match.
 */
const MASK_COLUMNS = new Set<keyof EventRow>(['mask_detectors', 'mask_locations', 'masked']);
/**
 * Columns added by migration 003. Their defaults read as a v1 event's projection (`[message_type]`
 * / `[0]` for a Frame), so rows stored before 003 match as they are. Empty arrays, should a store
 * hold them for such rows, are accepted on a v1 frame only: its one message is named by
 * `message_type`, which is still compared. A v2 frame's messages are known only from these
 * columns, so there they must match.
 */
const MESSAGE_COLUMNS = new Set<keyof EventRow>(['message_types', 'message_offsets']);
const isDefault = (v: unknown) => v === 0 || (Array.isArray(v) && v.length === 0);

function acceptedDefault(name: keyof EventRow, stored: unknown, event: SessionEvent): boolean {
  if (MASK_COLUMNS.has(name)) return isDefault(stored);
  if (MESSAGE_COLUMNS.has(name)) return isDefault(stored) && event.body.type === 'Frame' && event.body.messageTypes.length === 0;
  return false;
}

function same(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** What else is known about how the session ended, besides its events. */
export interface VerifyContext {
  /** The materializer's seal, when it sealed the session incomplete. */
  seal?: IncompleteSeal;
  /** seq of the SessionEnded the `sessions` table recorded (a gateway end), if any. */
  recordedEndSeq?: number;
}

/**
 * Recomputes a session's hash chain from its stored rows, fed in seq order. It trusts nothing but
 * the Avro bytes: every column must equal what the Avro projects to, every link must hold, seqs
 * must be contiguous from 0, and the SessionEnded seal must verify with a trusted node key
 * (signed over the SessionEnded event's own seq and the hash of the event before it). A session
 * without SessionEnded is incomplete; a materializer seal on it pins its tail, so events deleted
 * from the end are found too.
 */
/**
 * The key trusted for a node id: the entry named exactly so, else the longest entry that ends in
 * `*` and whose part before it starts the id (`chaperone-gateway-*` for pods whose names
 * Kubernetes generates and that share one key from a Secret).
 */
export function trustedKeyFor(keys: TrustedKeys, nodeId: string): KeyObject | undefined {
  const exact = Object.hasOwn(keys, nodeId) ? keys[nodeId] : undefined;
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(keys)) {
    if (name.endsWith('*') && nodeId.startsWith(name.slice(0, -1)) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : keys[best];
}

export class ChainVerifier {
  private expectedSeq = 0;
  private head: Buffer = ZERO_HASH;
  private ended: SessionEvent | undefined;
  private verdict: { status: VerifyStatus; firstBadSeq?: number; detail: string } | undefined;

  constructor(
    readonly sessionId: string,
    private readonly trustedKeys: TrustedKeys,
    private readonly context: VerifyContext = {},
  ) {}

  /** False once the chain is known to be broken (the caller can stop reading). */
  get ok(): boolean {
    return this.verdict === undefined;
  }

  private broken(seq: number, detail: string): false {
    this.verdict = { status: 'broken', firstBadSeq: seq, detail };
    return false;
  }

  /** Every stored copy of one seq (duplicates from redelivery must be identical). */
  add(seq: number, copies: readonly EventRow[]): boolean {
    if (this.verdict) return false;
    if (seq !== this.expectedSeq) {
      const missing = seq > this.expectedSeq ? `events ${this.expectedSeq}..${seq - 1} are missing` : `event ${seq} appears out of order`;
      return this.broken(this.expectedSeq, missing);
    }
    if (this.ended) return this.broken(seq, `event ${seq} follows SessionEnded (seq ${this.ended.seq})`);
    const first = copies[0];
    if (!first) return this.broken(seq, `event ${seq} is missing`);
    for (const c of copies.slice(1))
      if (COMPARED.some((n) => !same(c[n], first[n]))) return this.broken(seq, `event ${seq} is stored twice with different contents`);
    let event: SessionEvent;
    try {
      event = decodeEventBody(first.avro);
    } catch (err) {
      return this.broken(seq, `event ${seq}: stored Avro does not decode (${errorMessage(err)})`);
    }
    if (event.sessionId !== this.sessionId || event.seq !== seq)
      return this.broken(seq, `event ${seq}: its Avro says session ${event.sessionId} seq ${event.seq}`);
    if (!Buffer.from(event.prevHash).equals(this.head))
      // Event seq still names the hash its predecessor had when it was recorded; the predecessor
      // (whose own columns all agree with its Avro) is what no longer hashes to it.
      return seq === 0
        ? this.broken(0, 'event 0: prev_hash is not the zero hash')
        : this.broken(seq - 1, `event ${seq - 1} was altered: it no longer hashes to the prev_hash that event ${seq} recorded`);
    const hash = chainHash(this.head, first.avro);
    const expected = toEventRow(event, first.avro, hash);
    for (const name of COMPARED) {
      if (same(first[name], expected[name]) || acceptedDefault(name, first[name], event)) continue;
      return this.broken(seq, `event ${seq}: column ${name} does not match the recorded Avro (altered in the store)`);
    }
    const seal = this.context.seal;
    if (seal && seal.lastSeq === seq && seal.headHash !== hash.toString('hex'))
      return this.broken(seq, `event ${seq} differs from the event ${seal.sealedBy} sealed (incomplete seal, hash at seq ${seq})`);
    this.head = hash;
    this.expectedSeq = seq + 1;
    if (event.body.type === 'SessionEnded') this.ended = event;
    return true;
  }

  private sealKey(sealedBy: string): KeyObject | undefined {
    return trustedKeyFor(this.trustedKeys, sealedBy);
  }

  /** Verdict for a chain that stops without SessionEnded. */
  private unended(base: Omit<VerifyResult, 'status' | 'detail'>): VerifyResult {
    const last = base.lastSeq;
    const endSeq = this.context.recordedEndSeq;
    if (endSeq !== undefined && endSeq > last)
      return { ...base, status: 'broken', firstBadSeq: last + 1, detail: `events ${last + 1}..${endSeq} are missing: the sessions table records SessionEnded at seq ${endSeq}` };
    const seal = this.context.seal;
    if (!seal)
      return { ...base, status: 'incomplete', detail: `no SessionEnded yet: the session is open or its end is not materialized; events 0..${last} are intact` };
    const sealedBy = seal.sealedBy;
    if (seal.lastSeq > last)
      return {
        ...base, sealedBy, sealedIncomplete: true, status: 'broken', firstBadSeq: last + 1,
        detail: `events ${last + 1}..${seal.lastSeq} are missing: ${sealedBy} sealed the session incomplete after seq ${seal.lastSeq}`,
      };
    const signature = Buffer.from(seal.signature, 'hex');
    const head = Buffer.from(seal.headHash, 'hex');
    const key = this.sealKey(sealedBy);
    const check = (k: KeyObject) => verifyIncompleteSeal(k, this.sessionId, seal.lastSeq, head, signature);
    if (key && !check(key))
      return { ...base, sealedBy, sealedIncomplete: true, status: 'broken', firstBadSeq: seal.lastSeq, detail: `the incomplete seal does not verify with ${sealedBy}'s key` };
    // A materializer may sign with a gateway's key file (one key per host); any trusted key will do.
    const checked = key !== undefined || Object.values(this.trustedKeys).some(check);
    const note = checked ? '' : ` (its signature is not checked: add ${sealedBy}'s public key to recording.trustedNodeKeys)`;
    const when = new Date(Math.floor(seal.sealedMicros / 1000)).toISOString();
    if (seal.lastSeq < last)
      return {
        ...base, sealedBy, sealedIncomplete: true, status: 'incomplete',
        detail: `events after ${sealedBy}'s incomplete seal at seq ${seal.lastSeq}: the session went on and has not ended; events 0..${last} are intact${note}`,
      };
    return {
      ...base, sealedBy, sealedIncomplete: true, status: 'incomplete',
      detail: `no SessionEnded: sealed incomplete by ${sealedBy} at ${when} (${seal.reason}); events 0..${last} are intact${note}`,
    };
  }

  finish(): VerifyResult {
    const base: Pick<VerifyResult, 'sessionId' | 'events' | 'lastSeq' | 'headHash' | 'sealedHash'> = {
      sessionId: this.sessionId, events: this.expectedSeq, lastSeq: this.expectedSeq - 1, headHash: this.head.toString('hex'),
    };
    if (this.verdict) return { ...base, ...this.verdict };
    const end = this.ended;
    if (!end || end.body.type !== 'SessionEnded') return this.unended(base);
    const b = end.body;
    const sealedBy = b.sealedBy;
    if (b.signature.length > 0) Object.assign(base, { sealedHash: Buffer.from(b.finalHash).toString('hex') });
    if (!Buffer.from(b.finalHash).equals(Buffer.from(end.prevHash)))
      return { ...base, sealedBy, status: 'broken', firstBadSeq: end.seq, detail: 'SessionEnded.finalHash is not the hash of the event before it' };
    if (!b.complete)
      return { ...base, sealedBy, status: 'incomplete', detail: `session ended incomplete (${b.reason}${b.error ? `: ${b.error}` : ''}); events 0..${base.lastSeq} are intact` };
    if (b.signature.length === 0) return { ...base, sealedBy, status: 'incomplete', detail: 'session ended without a seal; the chain is intact' };
    const key = this.sealKey(sealedBy);
    if (!key)
      return {
        ...base, sealedBy, status: 'broken', firstBadSeq: end.seq,
        detail: `sealed by node "${sealedBy}", which has no trusted key; if that node is yours, add its public key to recording.trustedNodeKeys`,
      };
    if (!verifySeal(key, this.sessionId, end.seq, Buffer.from(b.finalHash), Buffer.from(b.signature)))
      return { ...base, sealedBy, status: 'broken', firstBadSeq: end.seq, detail: `the seal does not verify with node "${sealedBy}"'s key` };
    return { ...base, sealedBy, status: 'intact', detail: `${base.events} events, chain and seal verify (sealed by ${sealedBy})` };
  }
}
