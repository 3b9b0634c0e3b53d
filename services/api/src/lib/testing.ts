/**
 * Test helpers of this package: recorded sessions written out as scripts of client and server
 * writes, recorded either as events v1 (a Frame per protocol message, each followed at once by
 * the events of its statement) or v2 (a Frame per write, the statements' events after it), so a
 * test can check that both read the same; and PostgreSQL messages the store's fixtures lack.
 */
import { chainHash, encodeEventBody, ZERO_HASH, type EventBody, type Frame, type MaskNote, type SessionEvent } from '@chaperone/events';
import type { StoredEvent } from '@chaperone/store';
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
