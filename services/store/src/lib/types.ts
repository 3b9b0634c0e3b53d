import type { KeyObject } from 'node:crypto';
import type { SessionEvent } from '@chaperone/events';

/** A decoded Kafka message: the event and its canonical Avro binary (what `decodeEvent` returns). */
export interface DecodedEvent {
  event: SessionEvent;
  body: Buffer;
}

/** One stored event as read back (each event once, in seq order). */
export interface StoredEvent {
  sessionId: string;
  seq: number;
  tsMicros: number;
  nodeId: string;
  type: string;
  direction: string;
  /** Frame: the first protocol message's name (see messageTypes). */
  messageType: string;
  /** Frame: every protocol message in `payload`, in order (one entry for events written before v2). */
  messageTypes: string[];
  /** Frame: where each message of messageTypes starts in `payload`. */
  messageOffsets: number[];
  commandId: number;
  payload: Buffer;
  redacted: boolean;
  /** Canonical Avro binary; `decodeEventBody(avro)` gives the full event. */
  avro: Buffer;
  /** Hex SHA-256 chain hash. */
  hash: string;
  prevHash: string;
}

/**
 * A session's counters, one meaning per word (CLI, replay, verify and the API alike): a message is
 * one protocol message, a frame one recorded Frame event (the bytes of one forwarded write, one or
 * several messages). Frames and messages are counted from the recording, as `chaperone replay`
 * counts them (the login exchange included). Bytes, commands and denied of an ended session are the
 * gateway's own (SessionEnded); an open one's are counted from what is recorded so far.
 */
export interface SessionCounters {
  framesIn: number;
  framesOut: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  commands: number;
  denied: number;
}

/** A session as the `sessions` table knows it (the newest row). */
export interface SessionSummary {
  state: SessionState;
  sessionId: string;
  subject: string;
  issuer: string;
  groups: string[];
  tokenId: string;
  connection: string;
  protocol: string;
  clientAddress: string;
  tls: boolean;
  attributesJson: string;
  nodeId: string;
  startedMicros: number;
  /** Whether a SessionEnded event was materialized. */
  ended: boolean;
  /** 0 while open. */
  endedMicros: number;
  endReason: string;
  endError: string;
  counters: SessionCounters;
  lastSeq: number;
  /** Hex hash the seal signs (of the event before SessionEnded); empty while open. */
  sealedHash: string;
  /** @deprecated the same as sealedHash (the API's older name). */
  finalHash: string;
  sealedBy: string;
  complete: boolean;
  sealed: boolean;
}

/** Where a session stands: open, ended normally (sealed or not), or cut off (incomplete). */
export type SessionState = 'open' | 'sealed' | 'ended' | 'incomplete';

export interface SessionFilter {
  /** Exact identity subject, e.g. `ci:deploy-bot`. */
  subject?: string;
  /** Exact connection name. */
  connection?: string;
  /** Sessions started at or after this time (microseconds since the epoch). */
  sinceMicros?: number;
  /** Sessions started before this time (microseconds since the epoch). */
  untilMicros?: number;
  /** Sessions with at least one command decided so (e.g. DENY: sessions with a denied command). */
  verdict?: 'ALLOW' | 'DENY' | 'APPROVAL' | 'MASK';
  state?: SessionState;
  /** At most this many, newest first. @default 100 */
  limit?: number;
}

export interface QueryColumn {
  name: string;
  type: string;
}

/** A SQL result as text cells (ClickHouse's own rendering; null for NULL). */
export interface QueryResult {
  columns: QueryColumn[];
  rows: (string | null)[][];
  /** More rows existed than `maxRows`. */
  truncated: boolean;
}

export interface QueryOptions {
  /** Must be true: SOC SQL always runs read-only (readonly user, or readonly=1). */
  readonly: true;
  /** @default 10000 */
  maxRows?: number;
}

export type VerifyStatus = 'intact' | 'incomplete' | 'broken';

export interface VerifyResult {
  sessionId: string;
  /** intact: every event present, chain and seal verify. incomplete: what is there verifies but the
   * session is not (yet) sealed. broken: evidence of loss or tampering, see firstBadSeq. */
  status: VerifyStatus;
  firstBadSeq?: number;
  detail: string;
  /** Events checked (distinct seqs). */
  events: number;
  lastSeq: number;
  sealedBy?: string;
  /** Hex hash of the newest event checked: the chain's head (SessionEnded's own hash when ended). */
  headHash: string;
  /** Hex hash the gateway's seal signs (SessionEnded.finalHash: of the event before SessionEnded), when it sealed. */
  sealedHash?: string;
  /** The materializer sealed the session incomplete (no SessionEnded after its idle timeout). */
  sealedIncomplete?: boolean;
}

/** A materializer's seal on a session that never ended (table session_seals). */
export interface IncompleteSeal {
  sessionId: string;
  lastSeq: number;
  /** Hex hash of the event at lastSeq. */
  headHash: string;
  lastEventMicros: number;
  sealedMicros: number;
  sealedBy: string;
  reason: string;
  /** Hex Ed25519 signature (signIncompleteSeal). */
  signature: string;
}

/** Public keys trusted to seal sessions, by node id (config.recording.trustedNodeKeys, loaded). */
export type TrustedKeys = Readonly<Record<string, KeyObject>>;
