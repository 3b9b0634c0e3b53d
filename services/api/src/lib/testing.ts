/**
 * Test helpers of this package: recorded sessions written out as scripts of client and server
 * writes, recorded either as events v1 (a Frame per protocol message, each followed at once by
 * the events of its statement) or v2 (a Frame per write, the statements' events after it), so a
 * test can check that both read the same; and PostgreSQL messages the store's fixtures lack.
 */
import { chainHash, encodeEventBody, ZERO_HASH, type EventBody, type Frame, type MaskNote, type SessionEvent } from '@chaperone/events';
import { SessionNotFoundError, type Store, type StoredEvent } from '@chaperone/store';
import { pgCommandComplete, pgDataRow, pgQuery, pgReadyForQuery, pgRowDescription } from '@chaperone/store/testing';
import type { EventMsg } from './proto.js';

/** One protocol message: its name, its bytes, the masking notes for it. */
export interface ScriptMessage {
  type: string;
  bytes: Buffer;
  masks?: MaskNote[];
  /** Events the gateway records for this client message (Command, Decision, approvals). */
  events?: EventBody[];
  /** What is recorded after those events and before the write's next message is handled (the answers to what the gateway forwarded before waiting for an approval). */
  then?: ScriptStep[];
}

export type ScriptStep =
  | { at: number; client: ScriptMessage[] }
  | { at: number; server: ScriptMessage[] }
  | { at: number; event: EventBody };

const frame = (direction: Frame['direction'], messages: readonly ScriptMessage[], v2: boolean): Frame => {
  const offsets: number[] = [];
  let at = 0;
  for (const m of messages) {
    offsets.push(at);
    at += m.bytes.length;
  }
  const notes = new Map<string, MaskNote>();
  for (const n of messages.flatMap((m) => m.masks ?? [])) {
    const key = `${n.detector}\0${n.location}`;
    const prev = notes.get(key);
    notes.set(key, { ...n, count: (prev?.count ?? 0) + n.count });
  }
  return {
    type: 'Frame', direction, messageType: messages[0]?.type ?? '', bytes: Buffer.concat(messages.map((m) => m.bytes)), redacted: false, masks: [...notes.values()],
    messageTypes: v2 ? messages.map((m) => m.type) : [], offsets: v2 ? offsets : [],
  };
};

type Timed = { at: number; body: EventBody };

/** The script's events in order, each with its time: v1 or v2 grouping. */
function scriptEvents(steps: readonly ScriptStep[], version: 'v1' | 'v2'): Timed[] {
  const v2 = version === 'v2';
  const out: Timed[] = [];
  for (const s of steps) {
    if ('event' in s) out.push({ at: s.at, body: s.event });
    else if ('client' in s) {
      if (v2) out.push({ at: s.at, body: frame('CLIENT_TO_SERVER', s.client, true) });
      for (const m of s.client) {
        if (!v2) out.push({ at: s.at, body: frame('CLIENT_TO_SERVER', [m], false) });
        for (const body of m.events ?? []) out.push({ at: s.at, body });
        out.push(...scriptEvents(m.then ?? [], version));
      }
    } else if (v2) out.push({ at: s.at, body: frame('SERVER_TO_CLIENT', s.server, true) });
    else for (const m of s.server) out.push({ at: s.at, body: frame('SERVER_TO_CLIENT', [m], false) });
  }
  return out;
}

/**
 * Records a script as a gateway of that version would have (v1 Frames in v1 Avro: the v2
 * encoding without its two appended empty arrays), as the API sends events.
 */
export function recordScript(steps: readonly ScriptStep[], version: 'v1' | 'v2', sessionId = `script-${version}`): EventMsg[] {
  let prev: Buffer = ZERO_HASH;
  return scriptEvents(steps, version).map(({ at, body }, seq) => {
    const event: SessionEvent = { sessionId, seq, tsMicros: at, nodeId: 'gw-test-1', prevHash: prev, body };
    const encoded = encodeEventBody(event);
    const avro = version === 'v1' && body.type === 'Frame' ? encoded.subarray(0, encoded.length - 2) : encoded;
    const hash = chainHash(prev, avro);
    const msg: EventMsg = {
      sessionId, seq, tsMicros: at, nodeId: 'gw-test-1', type: body.type, direction: body.type === 'Frame' ? body.direction : '',
      messageType: body.type === 'Frame' ? body.messageType : '', commandId: 'commandId' in body ? body.commandId : 0,
      payload: body.type === 'Frame' ? body.bytes : Buffer.alloc(0), redacted: false, avro, hash: hash.toString('hex'), prevHash: prev.toString('hex'),
    };
    prev = hash;
    return msg;
  });
}

/** A session that returns `frames` frames of `rows` DataRows each of ~`width` bytes: a bulk SELECT, recorded as events v2. */
export function bulkScript(frames: number, rows: number, width: number): ScriptStep[] {
  const t0 = Date.UTC(2026, 0, 15, 12) * 1000;
  const sql = `SELECT n, repeat('x', ${width}) FROM generate_series(1, ${frames * rows}) n`;
  const started: EventBody = {
    type: 'SessionStarted', connection: 'demo-pg', protocol: 'postgres', clientAddress: '127.0.0.1:50000', tls: false, attributesJson: '{}',
    identity: { subject: 'agent:bulk', issuer: 'chaperone', groups: [], tokenId: '', claimsJson: '{}' },
  };
  const pad = 'x'.repeat(width);
  const frame = (i: number): ScriptStep => ({
    at: t0 + 2000 + i,
    server: [
      ...(i === 0 ? [{ type: 'RowDescription', bytes: pgRowDescription(['n', 'repeat']) }] : []),
      ...Array.from({ length: rows }, (_, r) => ({ type: 'DataRow', bytes: pgDataRow([String(i * rows + r + 1), pad]) })),
      ...(i === frames - 1 ? [{ type: 'CommandComplete', bytes: pgCommandComplete(`SELECT ${frames * rows}`) }, { type: 'ReadyForQuery', bytes: pgReadyForQuery() }] : []),
    ],
  });
  return [
    { at: t0, event: started },
    {
      at: t0 + 1000,
      client: [{
        type: 'Query', bytes: pgQuery(sql),
        events: [
          { type: 'Command', commandId: 1, protocol: 'postgres', action: 'SELECT', targets: [], text: sql, textSha256: '', detailsJson: '{}', params: [] },
          { type: 'Decision', commandId: 1, result: 'ALLOW', reasons: [], policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}' },
        ],
      }],
    },
    ...Array.from({ length: frames }, (_, i) => frame(i)),
  ];
}

/** An EventMsg as the store returns it (what the API's pages hold). */
export const storedEvent = (m: EventMsg): StoredEvent => ({ ...m, messageTypes: [], messageOffsets: [] });

// PostgreSQL messages (protocol docs, "Message Formats") the store's fixtures do not write.

function pgMessage(code: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export const pgParse = (sql: string, name = ''): Buffer => pgMessage('P', cstr(name), cstr(sql), int16(0));
export const pgBind = (params: string[], statement = ''): Buffer =>
  pgMessage('B', cstr(''), cstr(statement), int16(0), int16(params.length), ...params.flatMap((p) => [int32(Buffer.byteLength(p)), Buffer.from(p)]), int16(0));
export const pgDescribePortal = (): Buffer => pgMessage('D', Buffer.from('P'), cstr(''));
export const pgExecute = (): Buffer => pgMessage('E', cstr(''), int32(0));
export const pgSync = (): Buffer => pgMessage('S');
export const pgParseComplete = (): Buffer => pgMessage('1');
export const pgBindComplete = (): Buffer => pgMessage('2');
export const pgEmptyQueryResponse = (): Buffer => pgMessage('I');

/** A read of the fake store: the range asked for, the byte budget, and the seqs it returned ([from, end)). */
export interface FakeRead {
  from: number;
  to: number;
  maxBytes: number | undefined;
  /** One past the last seq returned (`from` when none was). */
  end: number;
}

/** A store of one session's events for the API's Replay, that tells what was read and can hold reads back. */
export interface FakeStore {
  store: Store;
  /** The reads, in the order they were asked for. */
  reads: FakeRead[];
  /** Reads whose page reaches `seq` wait until `release()`. */
  hold(seq: number): void;
  release(): void;
}

/**
 * A session of `count` events made by `event(seq)` on demand (so a test can replay gigabytes
 * without holding them), behind the parts of Store that Replay uses. A read with maxBytes ends as
 * the store ends it: before the event that would take the page's payload and Avro past the budget,
 * at least one event.
 */
export function fakeStore(sessionId: string, count: number, event: (seq: number) => StoredEvent): FakeStore {
  const reads: FakeRead[] = [];
  let held: { seq: number; until: Promise<void>; release: () => void } | undefined;
  const page = (from: number, to: number, maxBytes = Infinity): StoredEvent[] => {
    const out: StoredEvent[] = [];
    let bytes = 0;
    for (let seq = from; seq < Math.min(to, count); seq++) {
      const e = event(seq);
      bytes += e.payload.length + e.avro.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  };
  const store: Partial<Store> = {
    database: 'fake',
    describe: 'a fake store',
    async eventRange(id, from, to, opts) {
      const events = id === sessionId ? page(from, to, opts?.maxBytes) : [];
      const end = events.length > 0 ? events.at(-1)!.seq + 1 : from;
      reads.push({ from, to, maxBytes: opts?.maxBytes, end });
      if (held && end > held.seq) await held.until;
      return events;
    },
    lastStoredSeq: (id) => Promise.resolve(id === sessionId ? count - 1 : -1),
    getSession: (id) => Promise.reject(new SessionNotFoundError(id)),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return {
    store: store as Store,
    reads,
    hold(seq) {
      let release = () => {};
      const until = new Promise<void>((r) => (release = r));
      held = { seq, until, release };
    },
    release() {
      held?.release();
      held = undefined;
    },
  };
}
