import { ZERO_HASH, chainHash, decodeEventBody, verifySeal, type SessionEvent } from '@chaperone/events';
import { EVENT_COLUMNS, toEventRow, type EventRow } from './rows.js';
import type { TrustedKeys, VerifyResult, VerifyStatus } from './types.js';

/** Every column of `events`, compared between a stored row and the row its own Avro projects to. */
const COMPARED = EVENT_COLUMNS.map((c) => c.name) as (keyof EventRow)[];

const same = (a: unknown, b: unknown) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b);

/**
 * Recomputes a session's hash chain from its stored rows, fed in seq order. It trusts nothing but
 * the Avro bytes: every column must equal what the Avro projects to, every link must hold, seqs
 * must be contiguous from 0, and the SessionEnded seal must verify with a trusted node key
 * (signed over the SessionEnded event's own seq and the hash of the event before it).
 */
export class ChainVerifier {
  private expectedSeq = 0;
  private head: Buffer = ZERO_HASH;
  private ended: SessionEvent | undefined;
  private verdict: { status: VerifyStatus; firstBadSeq?: number; detail: string } | undefined;

  constructor(
    readonly sessionId: string,
    private readonly trustedKeys: TrustedKeys,
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
      return this.broken(seq, `event ${seq}: stored Avro does not decode (${(err as Error).message})`);
    }
    if (event.sessionId !== this.sessionId || event.seq !== seq)
      return this.broken(seq, `event ${seq}: its Avro says session ${event.sessionId} seq ${event.seq}`);
    if (!Buffer.from(event.prevHash).equals(this.head))
      return this.broken(seq, `event ${seq}: chain link broken (prev_hash is not the hash of event ${seq - 1})`);
    const hash = chainHash(this.head, first.avro);
    const expected = toEventRow(event, first.avro, hash);
    for (const name of COMPARED)
      if (!same(first[name], expected[name])) return this.broken(seq, `event ${seq}: column ${name} does not match the recorded Avro`);
    this.head = hash;
    this.expectedSeq = seq + 1;
    if (event.body.type === 'SessionEnded') this.ended = event;
    return true;
  }

  finish(): VerifyResult {
    const base = { sessionId: this.sessionId, events: this.expectedSeq, lastSeq: this.expectedSeq - 1, headHash: this.head.toString('hex') };
    if (this.verdict) return { ...base, ...this.verdict };
    const end = this.ended;
    if (!end || end.body.type !== 'SessionEnded')
      return { ...base, status: 'incomplete', detail: `no SessionEnded yet: the session is open or its end is not materialized; events 0..${base.lastSeq} are intact` };
    const b = end.body;
    const sealedBy = b.sealedBy;
    if (!Buffer.from(b.finalHash).equals(Buffer.from(end.prevHash)))
      return { ...base, sealedBy, status: 'broken', firstBadSeq: end.seq, detail: 'SessionEnded.finalHash is not the hash of the event before it' };
    if (!b.complete)
      return { ...base, sealedBy, status: 'incomplete', detail: `session ended incomplete (${b.reason}${b.error ? `: ${b.error}` : ''}); events 0..${base.lastSeq} are intact` };
    if (b.signature.length === 0) return { ...base, sealedBy, status: 'incomplete', detail: 'session ended without a seal; the chain is intact' };
    const key = this.trustedKeys[sealedBy];
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
