/**
 * Property-based fuzzing (convention 6): random and mutated input may only ever produce
 * PgProtocolError, from the reader (as a value) or from the decoders (thrown).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as backend from './decode-backend.js';
import * as frontend from './decode.js';
import { encodeBind, encodeParse } from './encode.js';
import { encodeDataRow } from './encode-backend.js';
import { PgProtocolError } from './errors.js';
import { backendFixtures, frontendFixtures, startupFixtures } from './fixtures.js';
import { MessageReader, type PgMessage } from './reader.js';

const RUNS = 10_000;
const MAX = 4096;

/** Cuts `stream` at the given fractional points. */
function chunked(stream: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((c) => Math.floor(c * stream.length)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(stream.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

/** Feeds chunks, decodes what comes out; fails the property on anything but PgProtocolError. */
function feed(chunks: Buffer[], opts: { startup: boolean; server: boolean }): void {
  const reader = new MessageReader({ maxMessageBytes: MAX, maxStartupBytes: 1024, startup: opts.startup });
  for (const chunk of chunks) {
    const { messages, error } = reader.push(chunk);
    if (error) assert.ok(error instanceof PgProtocolError);
    for (const m of messages) decodeOrProtocolError(m, opts.server);
    assert.ok(reader.bufferedBytes <= MAX);
    if (error) break;
  }
}

function decodeOrProtocolError(m: PgMessage, server: boolean): void {
  try {
    if (server) backend.decodeBackend(m);
    else frontend.decodeFrontend(m);
  } catch (err) {
    if (!(err instanceof PgProtocolError)) throw err;
  }
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: fc.oneof(fc.integer({ min: -10, max: 64 }), fc.integer()) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(stream: Buffer, m: Mutation): Buffer {
  const at = stream.length === 0 ? 0 : m.at % stream.length;
  const out = Buffer.from(stream);
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'length':
      if (at + 4 <= out.length) out.writeInt32BE(m.value | 0, at);
      return out;
    case 'insert':
      return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
  }
}

const streams = {
  client: Buffer.concat(frontendFixtures.map((f) => f.frame)),
  startup: Buffer.concat([startupFixtures[0]!.frame, ...frontendFixtures.map((f) => f.frame)]),
  server: Buffer.concat(backendFixtures.map((f) => f.frame)),
};

describe('fuzz: reader + decoders', { timeout: 60_000 }, () => {
  it('random bytes in random chunks yield only PgProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, fc.boolean(), fc.boolean(), (bytes, cs, startup, server) => {
        feed(chunked(Buffer.from(bytes), cs), { startup, server });
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes behind a valid header (plausible lengths and type bytes)', () => {
    const typeByte = fc.constantFrom(...new Set([...streams.client, ...streams.server].filter((x) => x >= 0x31 && x <= 0x7a)));
    fc.assert(
      fc.property(typeByte, fc.uint8Array({ maxLength: 120 }), fc.boolean(), (code, body, server) => {
        const frame = Buffer.concat([Buffer.from([code, 0, 0, 0, 0]), body]);
        frame.writeInt32BE(body.length + 4, 1);
        feed([frame], { startup: false, server });
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid streams (bit flips, truncation, length corruption, insertion) yield only PgProtocolError', () => {
    const which = fc.constantFrom('client' as const, 'startup' as const, 'server' as const);
    fc.assert(
      fc.property(which, fc.array(mutation, { minLength: 1, maxLength: 4 }), cuts, (w, ms, cs) => {
        const stream = ms.reduce(mutate, streams[w]);
        feed(chunked(stream, cs), { startup: w === 'startup', server: w === 'server' });
      }),
      { numRuns: RUNS },
    );
  });

  it('every single-message decoder on mutated payloads throws only PgProtocolError', () => {
    const decoders: ((p: Buffer) => unknown)[] = [
      ...Object.values(frontend).filter((f) => f.name.startsWith('decode') && f !== frontend.decodeFrontend),
      ...Object.values(backend).filter((f) => f.name.startsWith('decode') && f !== backend.decodeBackend),
    ].map((f) => f as (p: Buffer) => unknown);
    assert.ok(decoders.length >= 25, `found ${decoders.length} decoders`);
    const payloads = [...startupFixtures.map((f) => f.frame.subarray(4)), ...[...frontendFixtures, ...backendFixtures].map((f) => f.frame.subarray(5))];
    fc.assert(
      fc.property(fc.constantFrom(...decoders), fc.constantFrom(...payloads), fc.array(mutation, { maxLength: 3 }), (decode, payload, ms) => {
        try {
          decode(ms.reduce(mutate, payload));
        } catch (err) {
          if (!(err instanceof PgProtocolError)) throw err;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: round trips of generated messages', { timeout: 60_000 }, () => {
  const value = fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { nil: null });

  it('DataRow, Bind and Parse survive encode → chunked reader → decode', () => {
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 12 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0')),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 5 }),
        cuts,
        (values, text, oids, cs) => {
          const stream = Buffer.concat([encodeDataRow(values), encodeBind({ portal: text, params: values, resultFormats: [1] }), encodeParse({ name: text, sql: text, paramTypes: oids })]);
          const reader = new MessageReader({ maxMessageBytes: 1 << 16 });
          const got = chunked(stream, cs).flatMap((c) => reader.push(c).messages);
          assert.equal(got.length, 3);
          assert.deepStrictEqual(backend.decodeDataRow(got[0]!.payload), values);
          assert.deepStrictEqual(frontend.decodeBind(got[1]!.payload), { portal: text, statement: '', paramFormats: [], params: values, resultFormats: [1] });
          assert.deepStrictEqual(frontend.decodeParse(got[2]!.payload), { name: text, sql: text, paramTypes: oids });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
