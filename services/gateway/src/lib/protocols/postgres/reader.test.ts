import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeQuery, encodeSSLRequest, encodeStartupMessage, encodeSync } from './encode.js';
import { encodeDataRow } from './encode-backend.js';
import { MessageReader } from './reader.js';

function header(code: number, length: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = code;
  b.writeInt32BE(length | 0, 1);
  return b;
}

function startupHeader(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(length | 0, 0);
  return b;
}

describe('MessageReader limits', () => {
  for (const [name, len] of [['3', 3], ['0', 0], ['negative', -5], ['0xffffffff', 0xffffffff]] as const) {
    it(`typed length ${name} → BAD_LENGTH`, () => {
      const r = new MessageReader({ maxMessageBytes: 1024 }).push(header(0x51, len));
      assert.equal(r.error?.code, 'BAD_LENGTH');
    });
  }

  it('oversized typed length → MESSAGE_TOO_LARGE from the header alone', () => {
    const reader = new MessageReader({ maxMessageBytes: 1024 });
    const r = reader.push(header(0x51, 1024)); // 1025 bytes with the type byte
    assert.equal(r.error?.code, 'MESSAGE_TOO_LARGE');
    assert.equal(reader.bufferedBytes, 0);
    const ok = new MessageReader({ maxMessageBytes: 1025 }).push(Buffer.concat([header(0x64, 1024), Buffer.alloc(1020)]));
    assert.equal(ok.error, undefined);
    assert.equal(ok.messages[0]?.payload.length, 1020);
  });

  it('detects a bad length split across pushes', () => {
    const reader = new MessageReader({ maxMessageBytes: 1024 });
    const h = header(0x44, 0x7fffffff);
    for (const byte of h.subarray(0, 4)) assert.equal(reader.push(Buffer.from([byte])).error, undefined);
    assert.equal(reader.push(h.subarray(4)).error?.code, 'MESSAGE_TOO_LARGE');
  });

  it('startup packets: BAD_LENGTH below 4, BAD_STARTUP below 8, MESSAGE_TOO_LARGE above maxStartupBytes', () => {
    const push = (b: Buffer, max?: number) => new MessageReader({ maxMessageBytes: 1 << 20, startup: true, maxStartupBytes: max }).push(b).error?.code;
    assert.equal(push(startupHeader(3)), 'BAD_LENGTH');
    assert.equal(push(startupHeader(-1)), 'BAD_LENGTH');
    assert.equal(push(startupHeader(7)), 'BAD_STARTUP');
    assert.equal(push(startupHeader(10001)), 'MESSAGE_TOO_LARGE'); // PostgreSQL's own limit by default
    assert.equal(push(startupHeader(10000)), undefined);
    assert.equal(push(startupHeader(101), 100), 'MESSAGE_TOO_LARGE');
  });

  it('never allocates the claimed size: memory follows the bytes actually received', () => {
    const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
    const sizes: number[] = [];
    Buffer.allocUnsafe = (n: number) => (sizes.push(n), allocUnsafe(n));
    try {
      const reader = new MessageReader({ maxMessageBytes: 0x7fffffff });
      assert.equal(reader.push(header(0x44, 0x7ffffff0)).error, undefined); // claims ~2 GiB
      for (let i = 0; i < 16; i++) assert.equal(reader.push(Buffer.alloc(4096)).error, undefined);
      assert.equal(reader.bufferedBytes, 5 + 16 * 4096);
      assert.ok(Math.max(...sizes) <= 2 * reader.bufferedBytes + 16 * 1024, `allocated ${Math.max(...sizes)}`);
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }
  });

  it('is poisoned after an error, and returns the messages before it', () => {
    const reader = new MessageReader({ maxMessageBytes: 1024 });
    const r = reader.push(Buffer.concat([encodeSync(), encodeQuery('SELECT 1'), header(0x51, 2), encodeSync()]));
    assert.equal(r.messages.length, 2);
    assert.equal(r.error?.code, 'BAD_LENGTH');
    const again = reader.push(encodeSync());
    assert.deepEqual(again.messages, []);
    assert.equal(again.error, r.error);
  });

  it('rejects bytes pipelined after an SSLRequest (CVE-2021-23214)', () => {
    const reader = new MessageReader({ maxMessageBytes: 1024, startup: true });
    const r = reader.push(Buffer.concat([encodeSSLRequest(), encodeStartupMessage({ user: 'x' })]));
    assert.equal(r.messages.length, 1);
    assert.equal(r.error?.code, 'UNEXPECTED_MESSAGE');
    const split = new MessageReader({ maxMessageBytes: 1024, startup: true });
    assert.equal(split.push(encodeSSLRequest().subarray(0, 3)).error, undefined);
    assert.equal(split.push(Buffer.concat([encodeSSLRequest().subarray(3), Buffer.from([0])])).error?.code, 'UNEXPECTED_MESSAGE');
  });

  it('validates its options', () => {
    assert.throws(() => new MessageReader({ maxMessageBytes: 4 }), RangeError);
    assert.throws(() => new MessageReader({ maxMessageBytes: 1.5 }), RangeError);
    assert.throws(() => new MessageReader({ maxMessageBytes: 100, maxStartupBytes: 2 ** 31 }), RangeError);
  });
});

describe('MessageReader buffering', () => {
  it('slices whole messages out of the pushed chunk without copying', () => {
    const chunk = Buffer.concat([encodeDataRow(['a']), encodeDataRow(['b']), encodeDataRow(['c']).subarray(0, 4)]);
    const reader = new MessageReader({ maxMessageBytes: 1024 });
    const { messages } = reader.push(chunk);
    assert.equal(messages.length, 2);
    for (const m of messages) assert.equal(m.frame.buffer, chunk.buffer);
    assert.equal(reader.bufferedBytes, 4);
    const rest = reader.push(encodeDataRow(['c']).subarray(4));
    assert.equal(rest.messages[0]?.payload.toString('latin1'), '\0\x01\0\0\0\x01c');
    assert.equal(reader.bufferedBytes, 0);
  });

  it('returns to the startup phase on expectStartup()', () => {
    const reader = new MessageReader({ maxMessageBytes: 1024, startup: true });
    assert.equal(reader.push(encodeStartupMessage({ user: 'u' })).messages[0]?.code, 0);
    assert.equal(reader.push(encodeSync()).messages[0]?.code, 0x53);
    reader.expectStartup();
    assert.equal(reader.push(encodeStartupMessage({ user: 'u' })).messages[0]?.code, 0);
    reader.push(encodeSync().subarray(0, 2));
    assert.throws(() => reader.expectStartup());
  });

  it('assembles a large message from many chunks', () => {
    const big = encodeDataRow([Buffer.alloc(300_000, 7), null]);
    const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
    const got = [];
    for (let i = 0; i < big.length; i += 1000) got.push(...reader.push(big.subarray(i, i + 1000)).messages);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.frame, big);
  });
});
