/**
 * @module @chaperone/store/testing
 * Fixtures for tests in any package: a recorded PostgreSQL session built with the real
 * SessionChain and codec (sealed exactly as a gateway seals: Ed25519 over the SessionEnded
 * event's own seq and the hash of the event before it), PostgreSQL wire messages, and a
 * throwaway ClickHouse database on the local stack.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { loadConfig, type Config } from '@chaperone/config';
import { SessionChain, encodeEvent, signSeal, type ChainedEvent, type DecisionResult, type EventBody } from '@chaperone/events';
import type { ClickHouseConfig } from './lib/clickhouse.js';
import { ident } from './lib/sql.js';
import { pgCommandComplete, pgDataRow, pgErrorResponse, pgQuery, pgReadyForQuery, pgRowDescription } from './lib/pgwire.js';

export { pgCommandComplete, pgDataRow, pgErrorResponse, pgQuery, pgReadyForQuery, pgRowDescription };

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
  /** The same events as Kafka message values (Avro single-object encoding). */
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

/** A complete recorded PostgreSQL session: start, per query Frame+Command+Decision+result frames, end. */
export function fixtureSession(opts: FixtureOptions = {}): FixtureSession {
  const sessionId = opts.sessionId ?? `fx-${randomBytes(6).toString('hex')}`;
  const nodeId = opts.nodeId ?? 'gw-test-1';
  const { privateKey, publicKey } = opts.privateKey
    ? { privateKey: opts.privateKey, publicKey: createPublicKey(opts.privateKey) }
    : generateKeyPairSync('ed25519');
  let t = opts.startMicros ?? Date.now() * 1000;
  const chain = new SessionChain(sessionId, nodeId, () => (t += 1000));
  const events: ChainedEvent[] = [];
  const add = (b: EventBody) => events.push(chain.append(b));
  const frame = (direction: 'CLIENT_TO_SERVER' | 'SERVER_TO_CLIENT', messageType: string, bytes: Buffer) =>
    add({ type: 'Frame', direction, messageType, bytes, redacted: false, masks: [] });
  add({
    type: 'SessionStarted', connection: opts.connection ?? 'demo-pg', protocol: 'postgres', clientAddress: '127.0.0.1:50000', tls: false,
    identity: { subject: opts.subject ?? 'agent:fixture', issuer: 'chaperone', groups: ['agents'], tokenId: 'tok-1', claimsJson: '{}' },
    attributesJson: '{"database":"demo"}',
  });
  let commandId = 0;
  let denied = 0;
  for (const q of opts.queries ?? DEFAULT_QUERIES) {
    commandId++;
    frame('CLIENT_TO_SERVER', 'Query', pgQuery(q.sql));
    const action = q.action ?? (q.sql.trim().split(/\s+/)[0] ?? '').toUpperCase();
    add({ type: 'Command', commandId, protocol: 'postgres', action, targets: q.targets ?? [], text: q.sql, textSha256: sha256(q.sql), detailsJson: '{}', params: [] });
    const result = q.decision ?? 'ALLOW';
    add({ type: 'Decision', commandId, result, reasons: result === 'DENY' ? ['policy forbids this'] : [], policyRevision: 'rev-test', evalMicros: 42, outputJson: '{}' });
    if (result === 'DENY') {
      denied++;
      frame('SERVER_TO_CLIENT', 'ErrorResponse', pgErrorResponse('42501', 'chaperone: denied by policy: policy forbids this'));
    } else if (q.error) {
      frame('SERVER_TO_CLIENT', 'ErrorResponse', pgErrorResponse('42P01', q.error));
    } else {
      if (q.columns) frame('SERVER_TO_CLIENT', 'RowDescription', pgRowDescription(q.columns));
      for (const r of q.rows ?? []) frame('SERVER_TO_CLIENT', 'DataRow', pgDataRow(r));
      frame('SERVER_TO_CLIENT', 'CommandComplete', pgCommandComplete(`${action} ${q.rows?.length ?? 0}`));
    }
    frame('SERVER_TO_CLIENT', 'ReadyForQuery', pgReadyForQuery());
  }
  const end = opts.end ?? 'sealed';
  if (end !== 'open') {
    const finalHash = chain.headHash;
    const seq = chain.seq;
    const signature = end === 'sealed' ? signSeal(privateKey, sessionId, seq, finalHash) : Buffer.alloc(0);
    const frames = events.filter((e) => e.event.body.type === 'Frame');
    add({
      type: 'SessionEnded', reason: end === 'incomplete' ? 'recording-failed' : 'client-terminate', error: '',
      counters: {
        framesIn: frames.filter((e) => e.event.body.type === 'Frame' && e.event.body.direction === 'CLIENT_TO_SERVER').length,
        framesOut: frames.filter((e) => e.event.body.type === 'Frame' && e.event.body.direction === 'SERVER_TO_CLIENT').length,
        bytesIn: 0, bytesOut: 0, commands: commandId, denied,
      },
      finalHash, signature, sealedBy: nodeId, complete: end !== 'incomplete',
    });
  }
  return { sessionId, nodeId, events, messages: events.map((e) => encodeEvent(e.event)), publicKey, trustedKeys: { [nodeId]: publicKey } };
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
