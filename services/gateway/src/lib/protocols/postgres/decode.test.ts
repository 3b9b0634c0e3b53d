import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBackend, decodeDataRow, decodeErrorFields, decodeRowDescription } from './decode-backend.js';
import { decodeBind, decodeFrontend, decodeParse, decodeSaslInitialResponse, decodeStartupPacket } from './decode.js';
import { encodeDataRow, encodeErrorResponseFields, encodeRowDescription } from './encode-backend.js';
import { encodeBind, encodeParse, encodeQuery, encodeSaslInitialResponse, encodeStartupMessage } from './encode.js';
import { PgProtocolError, type PgProtocolErrorCode } from './errors.js';
import { record } from './fixtures.js';

const body = (frame: Buffer, startup = false) => frame.subarray(startup ? 4 : 5);

function throwsCode(fn: () => unknown, code: PgProtocolErrorCode, message?: RegExp): void {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof PgProtocolError, `expected PgProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);

describe('decoders reject malformed bodies', () => {
  it('missing NUL terminators', () => {
    throwsCode(() => decodeFrontend({ code: 0x51, frame: Buffer.alloc(0), payload: Buffer.from('SELECT 1') }), 'MALFORMED', /NUL/);
    throwsCode(() => decodeParse(Buffer.from('s1\0SELECT')), 'MALFORMED', /NUL/);
    throwsCode(() => decodeStartupPacket(body(encodeStartupMessage({ user: 'u' }), true).subarray(0, -1)), 'MALFORMED');
    throwsCode(() => decodeErrorFields(Buffer.from('SERROR\0MOops')), 'MALFORMED');
  });

  it('counts that exceed the payload, before allocating', () => {
    throwsCode(() => decodeDataRow(int16(0x7fff)), 'MALFORMED', /count 32767/);
    throwsCode(() => decodeRowDescription(int16(2)), 'MALFORMED', /count 2/);
    throwsCode(() => decodeParse(Buffer.concat([Buffer.from('\0\0'), int16(100)])), 'MALFORMED');
    throwsCode(() => decodeBind(Buffer.concat([Buffer.from('\0\0'), int16(-1)])), 'MALFORMED');
  });

  it('value lengths beyond the payload or below -1', () => {
    const row = body(encodeDataRow(['abc']));
    row.writeInt32BE(4, 2);
    throwsCode(() => decodeDataRow(row), 'MALFORMED', /truncated/);
    row.writeInt32BE(-2, 2);
    throwsCode(() => decodeDataRow(row), 'MALFORMED', /negative/);
    row.writeInt32BE(-1, 2);
    throwsCode(() => decodeDataRow(row), 'MALFORMED', /trailing/);
  });

  it('truncation at every byte of every field', () => {
    const cases: [Buffer, (b: Buffer) => unknown][] = [
      [body(encodeBind({ portal: 'p', statement: 's', paramFormats: [1], params: [Buffer.from('x'), null], resultFormats: [0] })), decodeBind],
      [body(encodeRowDescription([{ name: 'a' }, { name: 'b' }])), decodeRowDescription],
      [body(encodeDataRow(['x', null, 'yz'])), decodeDataRow],
      [body(encodeSaslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=x')), decodeSaslInitialResponse],
    ];
    for (const [payload, decode] of cases) {
      decode(payload);
      for (let i = 0; i < payload.length; i++) throwsCode(() => decode(payload.subarray(0, i)), 'MALFORMED');
    }
  });

  it('trailing bytes', () => {
    throwsCode(() => decodeFrontend({ code: 0x53, frame: Buffer.alloc(0), payload: Buffer.from([0]) }), 'MALFORMED', /empty body/);
    throwsCode(() => decodeFrontend({ code: 0x51, frame: Buffer.alloc(0), payload: Buffer.from('a\0b') }), 'MALFORMED', /trailing/);
  });

  it('bad enumerations and unknown types', () => {
    throwsCode(() => decodeFrontend({ code: 0x44, frame: Buffer.alloc(0), payload: Buffer.from('Xname\0') }), 'MALFORMED', /'S' or 'P'/);
    throwsCode(() => decodeBackend({ code: 0x5a, frame: Buffer.alloc(0), payload: Buffer.from('Q') }), 'MALFORMED', /status/);
    throwsCode(() => decodeFrontend({ code: 0x7a, frame: Buffer.alloc(0), payload: Buffer.alloc(0) }), 'UNEXPECTED_MESSAGE');
    throwsCode(() => decodeBackend({ code: 0x7a, frame: Buffer.alloc(0), payload: Buffer.alloc(0) }), 'UNEXPECTED_MESSAGE');
  });
});

describe('startup packets', () => {
  it('rejects unsupported protocols and duplicate parameters', () => {
    throwsCode(() => decodeStartupPacket(body(encodeStartupMessage({ user: 'u' }, 2 << 16), true)), 'BAD_STARTUP', /2\.0/);
    throwsCode(() => decodeStartupPacket(Buffer.from([0x04, 0xd2, 0x16, 0x31])), 'BAD_STARTUP'); // 1234.5681
    const dup = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from('user\0a\0user\0b\0\0')]);
    throwsCode(() => decodeStartupPacket(dup), 'MALFORMED', /duplicate/);
    throwsCode(() => decodeStartupPacket(Buffer.from([0x04, 0xd2, 0x16, 0x2f, 0])), 'MALFORMED'); // SSLRequest + junk
  });

  it("keeps '__proto__' as an ordinary key", () => {
    const packet = decodeStartupPacket(body(encodeStartupMessage(record({ ['__proto__']: 'x', user: 'u' })), true));
    assert.equal(packet.kind, 'startup');
    if (packet.kind !== 'startup') return;
    assert.equal(Object.getPrototypeOf(packet.params), null);
    assert.equal(packet.params['__proto__'], 'x');
    assert.deepEqual(Object.keys(packet.params), ['__proto__', 'user']);
  });

  it('error fields have a null prototype too', () => {
    const fields = decodeErrorFields(body(encodeErrorResponseFields(record({ S: 'ERROR', M: 'm' }))));
    assert.equal(Object.getPrototypeOf(fields), null);
  });
});

describe('encoders refuse what the wire cannot carry', () => {
  it('NUL inside a C string', () => {
    throwsCode(() => encodeQuery('SELECT 1\0; DROP TABLE t'), 'MALFORMED', /NUL/);
    throwsCode(() => encodeStartupMessage({ user: 'a\0database\0postgres' }), 'MALFORMED');
  });

  it('counts and integers out of range', () => {
    throwsCode(() => encodeParse({ sql: 'x', paramTypes: new Array<number>(40000).fill(0) }), 'MALFORMED');
    throwsCode(() => encodeBind({ resultFormats: [70000] }), 'MALFORMED');
    throwsCode(() => encodeParse({ sql: 'x', paramTypes: [2 ** 32] }), 'MALFORMED');
    throwsCode(() => encodeDataRow(new Array<null>(40000).fill(null)), 'MALFORMED');
  });
});
