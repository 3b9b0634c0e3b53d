/**
 * @module @chaperone/store/testing
 * Fixtures for tests in any package: a recorded PostgreSQL session built with the real codec and
 * chain hash (v2 frames of several protocol messages, or v1 ones as stored before; Kafka records
 * of one publish each; sealed exactly as a gateway seals: Ed25519 over the SessionEnded event's
 * own seq and the hash of the event before it), PostgreSQL wire messages, and a throwaway
 * ClickHouse database on the local stack.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { loadConfig, type Config } from '@chaperone/config';
import {
  ZERO_HASH, chainHash, encodeEventBody, encodeRecord, messagesFrame, signSeal, singleFrame,
  type ChainedEvent, type DecisionResult, type Direction, type EventBody, type Frame, type SessionEvent,
} from '@chaperone/events';
import type { ClickHouseConfig } from './lib/clickhouse.js';
import { ident } from './lib/sql.js';
import { pgCommandComplete, pgDataRow, pgErrorResponse, pgQuery, pgReadyForQuery, pgRowDescription } from './lib/pgwire.js';

export { pgCommandComplete, pgDataRow, pgErrorResponse, pgQuery, pgReadyForQuery, pgRowDescription };
/** A Frame of several protocol messages (now in @chaperone/events; kept here for the fixtures' users). */
export { messagesFrame };

export interface FixtureQuery {
  sql: string;
  /** Action recorded on the Command. @default first word of sql, upper-cased */
  action?: string;
  targets?: string[];
  /** @default 'ALLOW' */
  decision?: DecisionResult;
  columns?: string[];
  rows?: (string | null)[][];
  /** The upstream's error, sent instead of rows. */
  error?: string;
}

export interface FixtureOptions {
  sessionId?: string;
  /** @default 'gw-test-1' */
  nodeId?: string;
  /** @default 'agent:fixture' */
  subject?: string;
  /** @default 'demo-pg' */
  connection?: string;
  /** Time of the first event; later events are 1 ms apart. @default now */
  startMicros?: number;
  queries?: FixtureQuery[];
  /**
   * The first n queries recorded as gateways recorded before events v2: a v1 Frame event (v1
   * Avro, schemas/avro/history/session-event.v1.avsc) per protocol message. @default 0
   */
  v1Queries?: number;
  /** How the session ends. @default 'sealed' */
  end?: 'sealed' | 'unsealed' | 'incomplete' | 'open';
  /** Node key that seals; a fresh Ed25519 pair when absent. */
  privateKey?: KeyObject;
}

export interface FixtureSession {
  sessionId: string;
  nodeId: string;
  /** The chained events in order (event, canonical Avro body, hash). */
  events: ChainedEvent[];
  /**
   * The same events as Kafka record values (`encodeRecord`), one per publish as a gateway makes
   * them: the start; a statement's Query frame, Command and Decision (recorded before it is
   * forwarded); its result; the end. The events of v1 queries are records of one event each, as
   * written before batches. `decodeRecord` gives each record's events.
   */
  messages: Buffer[];
  publicKey: KeyObject;
  /** `{ [nodeId]: publicKey }`, ready for verifySession. */
  trustedKeys: Record<string, KeyObject>;
}

const DEFAULT_QUERIES: FixtureQuery[] = [
  { sql: 'SELECT id, email FROM customers ORDER BY id LIMIT 2', targets: ['customers'], columns: ['id', 'email'], rows: [['1', 'ada@example.com'], ['2', null]] },
  { sql: 'DELETE FROM customers', targets: ['customers'], decision: 'DENY' },
];

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The canonical Avro of an event as a v1 writer made it. A v1 Frame is the current encoding
 * without the four fields v2 and v3 appended at the end of the record (each an empty array: one 0
 * byte), since a version only appends fields at the end of `body` (codec.ts, decodeEventBody);
 * other events are encoded alike by all.
 */
function v1Body(event: SessionEvent): Buffer {
  const avro = encodeEventBody(event);
  const b = event.body;
  if (b.type !== 'Frame') return avro;
  const tail = avro.subarray(avro.length - 4);
  if (b.messageTypes.length > 0 || b.offsets.length > 0 || (b.commandIds?.length ?? 0) > 0 || tail.some((x) => x !== 0)) throw new Error('a v1 Frame has no messageTypes, offsets or commands');
  return avro.subarray(0, avro.length - 4);
}

/**
 * Single-object header of the records written before batches, with the v1 event schema
 * (schemas/avro/history/session-event.v1.avsc, frozen history): C3 01 and its CRC-64-AVRO
 * fingerprint (what `rabinFingerprint` gives for it, as @chaperone/events computes fingerprints).
 */
const V1_RECORD_HEADER = Buffer.from('c3017e21d268a687a4eb', 'hex');

/** The hash chain of a session (as SessionChain makes it), with events written in v1 Avro on request. */
class FixtureChain {
  readonly events: ChainedEvent[] = [];
  private head: Buffer = ZERO_HASH;

  constructor(
    private readonly sessionId: string,
    private readonly nodeId: string,
    private readonly now: () => number,
  ) {}

  get seq(): number {
    return this.events.length;
  }

  get headHash(): Buffer {
    return this.head;
  }

  append(body: EventBody, v1 = false): ChainedEvent {
    const event: SessionEvent = { sessionId: this.sessionId, seq: this.seq, tsMicros: this.now(), nodeId: this.nodeId, prevHash: this.head, body };
    const avro = v1 ? v1Body(event) : encodeEventBody(event);
    this.head = chainHash(this.head, avro);
    const chained = { event, body: avro, hash: this.head };
    this.events.push(chained);
    return chained;
  }
}

/** The result an upstream sends for a query: its protocol messages in order. */
function resultMessages(q: FixtureQuery, action: string, denied: boolean): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  if (denied) out.push(['ErrorResponse', pgErrorResponse('42501', 'chaperone: denied by policy: policy forbids this')]);
  else if (q.error) out.push(['ErrorResponse', pgErrorResponse('42P01', q.error)]);
  else {
    if (q.columns) out.push(['RowDescription', pgRowDescription(q.columns)]);
    for (const r of q.rows ?? []) out.push(['DataRow', pgDataRow(r)]);
    out.push(['CommandComplete', pgCommandComplete(`${action} ${q.rows?.length ?? 0}`)]);
  }
  out.push(['ReadyForQuery', pgReadyForQuery()]);
  return out;
}

const v1Frame = (direction: Direction, messageType: string, bytes: Buffer): Frame => ({
  type: 'Frame', direction, messageType, bytes, redacted: false, masks: [], messageTypes: [], offsets: [],
});

/**
 * A complete recorded PostgreSQL session: start, per query its Query frame + Command + Decision
 * and its result (one v2 frame: RowDescription, DataRows, CommandComplete, ReadyForQuery), end.
 */
export function fixtureSession(opts: FixtureOptions = {}): FixtureSession {
  const sessionId = opts.sessionId ?? `fx-${randomBytes(6).toString('hex')}`;
  const nodeId = opts.nodeId ?? 'gw-test-1';
  const { privateKey, publicKey } = opts.privateKey
    ? { privateKey: opts.privateKey, publicKey: createPublicKey(opts.privateKey) }
    : generateKeyPairSync('ed25519');
  let t = opts.startMicros ?? Date.now() * 1000;
  const chain = new FixtureChain(sessionId, nodeId, () => (t += 1000));
  const messages: Buffer[] = [];
  const publish = (...events: ChainedEvent[]) => messages.push(encodeRecord(events.map((e) => e.body)));
  // Before batches a gateway published a record per event.
  const publishV1 = (...events: ChainedEvent[]) => messages.push(...events.map((e) => Buffer.concat([V1_RECORD_HEADER, e.body])));
  publish(chain.append({
    type: 'SessionStarted', connection: opts.connection ?? 'demo-pg', protocol: 'postgres', clientAddress: '127.0.0.1:50000', tls: false,
    identity: { subject: opts.subject ?? 'agent:fixture', issuer: 'chaperone', groups: ['agents'], tokenId: 'tok-1', claimsJson: '{}' },
    attributesJson: '{"database":"demo"}',
  }));
  let commandId = 0;
  let denied = 0;
  for (const q of opts.queries ?? DEFAULT_QUERIES) {
    commandId++;
    const v1 = commandId <= (opts.v1Queries ?? 0);
    const action = q.action ?? (q.sql.trim().split(/\s+/)[0] ?? '').toUpperCase();
    const result = q.decision ?? 'ALLOW';
    if (result === 'DENY') denied++;
    (v1 ? publishV1 : publish)(
      chain.append(v1 ? v1Frame('CLIENT_TO_SERVER', 'Query', pgQuery(q.sql)) : singleFrame('CLIENT_TO_SERVER', 'Query', pgQuery(q.sql)), v1),
      chain.append({ type: 'Command', commandId, protocol: 'postgres', action, targets: q.targets ?? [], text: q.sql, textSha256: sha256(q.sql), detailsJson: '{}', params: [] }),
      chain.append({ type: 'Decision', commandId, result, reasons: result === 'DENY' ? ['policy forbids this'] : [], policyRevision: 'rev-test', evalMicros: 42, outputJson: '{}' }),
    );
    const upstream = resultMessages(q, action, result === 'DENY');
    if (v1) publishV1(...upstream.map(([type, bytes]) => chain.append(v1Frame('SERVER_TO_CLIENT', type, bytes), true)));
    else publish(chain.append(messagesFrame('SERVER_TO_CLIENT', upstream)));
  }
  const end = opts.end ?? 'sealed';
  if (end !== 'open') {
    const finalHash = chain.headHash;
    const seq = chain.seq;
    const signature = end === 'sealed' ? signSeal(privateKey, sessionId, seq, finalHash) : Buffer.alloc(0);
    const frames = (d: Direction) => chain.events.filter((e) => e.event.body.type === 'Frame' && e.event.body.direction === d).length;
    const bytes = (d: Direction) => chain.events.reduce((n, e) => n + (e.event.body.type === 'Frame' && e.event.body.direction === d ? e.event.body.bytes.length : 0), 0);
    publish(chain.append({
      type: 'SessionEnded', reason: end === 'incomplete' ? 'recording-failed' : 'client-terminate', error: '',
      counters: {
        framesIn: frames('CLIENT_TO_SERVER'), framesOut: frames('SERVER_TO_CLIENT'), bytesIn: bytes('CLIENT_TO_SERVER'), bytesOut: bytes('SERVER_TO_CLIENT'), commands: commandId, denied,
      },
      finalHash, signature, sealedBy: nodeId, complete: end !== 'incomplete',
    }));
  }
  return { sessionId, nodeId, events: chain.events, messages, publicKey, trustedKeys: { [nodeId]: publicKey } };
}

const STACK_CONFIG = fileURLToPath(new URL('../../../deploy/local/.run/chaperone.yaml', import.meta.url));

/**
 * The configuration of the local stack: $CHAPERONE_CONFIG when set, else the one deploy/local/up
 * generates. Throws (with the way out) when neither exists.
 */
export function testConfig(): Config {
  try {
    return loadConfig(undefined, {});
  } catch (err) {
    if (existsSync(STACK_CONFIG)) return loadConfig(STACK_CONFIG);
    throw err;
  }
}

/** The ClickHouse of the local stack ({@link testConfig}), else the stack's default port (18123). */
export function testClickHouseConfig(): ClickHouseConfig {
  try {
    return testConfig().clickhouse;
  } catch {
    return { url: 'http://127.0.0.1:18123', database: 'chaperone', username: 'default', password: '' };
  }
}

/** A uniquely named database on the same server (created by migrate, dropped by `drop`). */
export function throwawayDatabase(base: ClickHouseConfig = testClickHouseConfig(), prefix = 'chaperone_test'): {
  config: ClickHouseConfig;
  drop(): Promise<void>;
} {
  const database = ident(`${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`);
  return {
    config: { ...base, database },
    async drop() {
      const c = createClient({ url: base.url, username: base.username, password: base.password, log: { level: ClickHouseLogLevel.OFF } });
      try {
        await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      } finally {
        await c.close();
      }
    },
  };
}
