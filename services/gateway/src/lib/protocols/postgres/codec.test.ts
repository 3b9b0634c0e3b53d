import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBackend } from './decode-backend.js';
import { decodeFrontend } from './decode.js';
import { backendFixtures, frontendFixtures, startupFixtures, type Fixture } from './fixtures.js';
import { MessageReader, type PgMessage } from './reader.js';
import { messageName } from './codes.js';

const MAX = 1 << 20;

function readAll(chunks: Buffer[], startup: boolean): PgMessage[] {
  const reader = new MessageReader({ maxMessageBytes: MAX, startup });
  const out: PgMessage[] = [];
  for (const chunk of chunks) {
    const { messages, error } = reader.push(chunk);
    assert.equal(error, undefined, error?.message);
    out.push(...messages);
  }
  assert.equal(reader.bufferedBytes, 0);
  return out;
}

function checkMessages<T>(got: PgMessage[], fixtures: Fixture<T>[], decode: (m: PgMessage) => T): void {
  assert.equal(got.length, fixtures.length);
  got.forEach((m, i) => {
    const f = fixtures[i]!;
    assert.deepEqual(m.frame, f.frame, `frame ${i}`);
    assert.deepStrictEqual(decode(m), f.expected, `message ${i}`);
  });
}

/** Convention 6: the reader must produce the same messages whatever the chunking. */
function splitEverywhere<T>(fixtures: Fixture<T>[], startup: boolean, decode: (m: PgMessage) => T): void {
  const stream = Buffer.concat(fixtures.map((f) => f.frame));
  checkMessages(readAll([stream], startup), fixtures, decode);
  for (let i = 0; i <= stream.length; i++) {
    checkMessages(readAll([stream.subarray(0, i), stream.subarray(i)], startup), fixtures, decode);
  }
  for (let i = 1; i < stream.length; i += 7) {
    const j = Math.min(stream.length, i + 3 + (i % 11));
    checkMessages(readAll([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)], startup), fixtures, decode);
  }
  const bytes = [...stream].map((x) => Buffer.from([x]));
  checkMessages(readAll(bytes, startup), fixtures, decode);
}

describe('round trip encode → reader → decode', () => {
  it('every frontend message, split at every byte offset and byte by byte', () => {
    splitEverywhere(frontendFixtures, false, decodeFrontend);
  });

  it('a StartupMessage followed by frontend messages on a startup reader', () => {
    splitEverywhere([startupFixtures[0]!, ...frontendFixtures], true, decodeFrontend);
  });

  it('every startup-phase packet, split at every byte offset', () => {
    for (const f of startupFixtures) splitEverywhere([f], true, decodeFrontend);
  });

  it('every backend message, split at every byte offset and byte by byte', () => {
    splitEverywhere(backendFixtures, false, decodeBackend);
  });

  it('SSLRequest then StartupMessage: the reader stays in the startup phase after SSLRequest', () => {
    const [startup, , , ssl, gss] = startupFixtures;
    const reader = new MessageReader({ maxMessageBytes: MAX, startup: true });
    for (const req of [ssl!, gss!, ssl!]) {
      const r = reader.push(req.frame);
      assert.equal(r.messages.length, 1);
      assert.deepStrictEqual(decodeFrontend(r.messages[0]!), req.expected);
    }
    const r = reader.push(Buffer.concat([startup!.frame, frontendFixtures[0]!.frame]));
    assert.deepStrictEqual(r.messages.map(decodeFrontend), [startup!.expected, frontendFixtures[0]!.expected]);
  });
});

describe('messageName', () => {
  it('names messages per direction', () => {
    assert.equal(messageName('client', 0x51), 'Query');
    assert.equal(messageName('client', 0x44), 'Describe');
    assert.equal(messageName('server', 0x44), 'DataRow');
    assert.equal(messageName('server', 0x53), 'ParameterStatus');
    assert.equal(messageName('client', 0x53), 'Sync');
    assert.equal(messageName('client', 0x48), 'Flush');
    assert.equal(messageName('server', 0x48), 'CopyOutResponse');
    assert.equal(messageName('server', 0x45), 'ErrorResponse');
    assert.equal(messageName('client', 0x45), 'Execute');
    assert.equal(messageName('server', 0x7e), 'Unknown(0x7e)');
  });

  it('names startup-phase packets from their payload', () => {
    const names = startupFixtures.map((f) => {
      const [m] = readAll([f.frame], true);
      return messageName('client', m!.code, m!.payload);
    });
    assert.deepEqual(names, ['StartupMessage', 'StartupMessage', 'CancelRequest', 'SSLRequest', 'GSSENCRequest']);
    assert.equal(messageName('client', 0), 'StartupMessage');
  });

  it('names every fixture (no Unknown)', () => {
    for (const f of frontendFixtures) assert.doesNotMatch(messageName('client', f.frame[0]!), /Unknown/);
    for (const f of backendFixtures) assert.doesNotMatch(messageName('server', f.frame[0]!), /Unknown/);
  });
});
