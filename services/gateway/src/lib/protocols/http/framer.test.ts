import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RequestFramer } from './framer.js';

const LIMITS = { maxHeadBytes: 2048, maxFields: 20, maxBodyBytes: 1000 };

/** Feeds `input` in pieces cut at `cuts`; returns what was passed on and the first error. */
function run(input: string, cuts: number[] = [], limits = LIMITS): { passed: string; code?: string; inBody?: boolean; tunnel?: boolean } {
  const f = new RequestFramer(limits);
  const buf = Buffer.from(input, 'latin1');
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
  let passed = '';
  for (let i = 0; i + 1 < bounds.length; i++) {
    const r = f.feed(buf.subarray(bounds[i], bounds[i + 1]));
    passed += r.pass.toString('latin1');
    if (r.error) return { passed, code: r.error.code, inBody: r.inBody };
    if (r.tunnel) return { passed: passed + buf.subarray(bounds[i + 1]).toString('latin1'), tunnel: true };
  }
  return { passed };
}

const GET = 'GET /a?b=1 HTTP/1.1\r\nHost: x.example:8443\r\nAccept: */*\r\n\r\n';
const POST = 'POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
const CHUNKED = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
const HTTP10 = 'GET / HTTP/1.0\r\n\r\n';
const UPGRADE = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello';

describe('RequestFramer', () => {
  it('passes valid pipelined requests whole, split at every byte offset', () => {
    const all = GET + POST + CHUNKED + HTTP10;
    assert.deepEqual(run(all), { passed: all });
    for (let i = 1; i < all.length; i++) assert.deepEqual(run(all, [i]), { passed: all }, `cut at ${i}`);
    assert.deepEqual(run(GET + UPGRADE), { passed: GET + UPGRADE, tunnel: true });
    for (let i = 1; i < UPGRADE.length; i++) assert.equal(run(UPGRADE, [i]).passed, UPGRADE, `cut at ${i}`);
  });

  it('passes nothing after a request with Connection: close, or an HTTP/1.0 one (RFC 9112 §9.6)', () => {
    const close = 'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    assert.deepEqual(run(GET + close + GET), { passed: GET + close });
    assert.deepEqual(run(HTTP10 + GET), { passed: HTTP10 });
    const keep = 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
    assert.deepEqual(run(keep + GET), { passed: keep + GET });
  });

  it('passes a head only once it is complete', () => {
    const f = new RequestFramer(LIMITS);
    assert.equal(f.feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n')).pass.length, 0);
    assert.equal(f.inHead, true);
    assert.equal(f.feed(Buffer.from('\r\n')).pass.toString(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(f.inHead, false);
  });

  const refused: [string, string, string, boolean?][] = [
    ['TE identity, chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
    ['TE gzip, chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
    ['TE twice', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
    ['CL and TE', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'CONFLICTING_FRAMING'],
    ['CL twice', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 'BAD_CONTENT_LENGTH'],
    ['CL signed', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc', 'BAD_CONTENT_LENGTH'],
    ['CL over the limit', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n', 'BODY_TOO_LARGE'],
    ['space before colon', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n', 'BAD_HEADER'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n b\r\n\r\n', 'BAD_HEADER'],
    ['bare LF', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 'BAD_REQUEST_LINE'],
    ['bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rX-B: b\r\n\r\n', 'BAD_HEADER'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 'BAD_HEADER'],
    ['CRLF in the target (HTTP/0.9)', 'GET /x\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_REQUEST_LINE'],
    ['absolute-form', 'GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_TARGET'],
    ['asterisk-form', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_TARGET'],
    ['CONNECT', 'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_TARGET'],
    ['HTTP/2.0 on HTTP/1', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 'VERSION_NOT_SUPPORTED'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_REQUEST_LINE'],
    ['no Host', 'GET / HTTP/1.1\r\n\r\n', 'BAD_HOST'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 'BAD_HOST'],
    ['Host with a path', 'GET / HTTP/1.1\r\nHost: 127.0.0.1/git/\r\n\r\n', 'BAD_HOST'],
    ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@127.0.0.1:18081\r\n\r\n', 'BAD_HOST'],
    ['TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'BAD_TRANSFER_ENCODING'],
    ['too many fields', `GET / HTTP/1.1\r\nHost: x\r\n${'a:\r\n'.repeat(20)}\r\n`, 'TOO_MANY_FIELDS'],
    ['head too large', `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(2100)}\r\n\r\n`, 'HEADERS_TOO_LARGE'],
    ['17 hex digits', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK', true],
    ['chunk over the body limit', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhello', 'BAD_CHUNK', true],
    ['chunk longer than its size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK', true],
    ['chunk size not hex', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 'BAD_CHUNK', true],
    ['upgrade with a body', 'POST /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nab', 'BAD_BODY'],
  ];
  for (const [name, bad, code, inBody] of refused) {
    it(`refuses ${name} and passes nothing after it, at any split`, () => {
      const input = GET + bad + GET;
      for (let i = 0; i < input.length; i += 3) {
        const r = run(input, [i]);
        assert.equal(r.code, code, `${name}, cut at ${i}: ${JSON.stringify(r)}`);
        assert.equal(r.inBody === true, inBody === true);
        assert.ok(input.startsWith(r.passed));
        // A refused head is never passed; a refused chunk line leaves the body before it passed.
        assert.ok(r.passed.length <= (inBody ? GET.length + bad.length - 1 : GET.length), `${name}: passed ${JSON.stringify(r.passed)}`);
      }
    });
  }

  it('never passes a byte after an error, whatever the input (fuzz)', () => {
    const piece = fc.constantFrom(GET, POST, CHUNKED, HTTP10, '\r\n', '\n', '\r', ' ', ':', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 3\r\n', '0\r\n\r\n', 'ffffffffffffffff\r\n', 'GET /x HTTP/1.1\r\n', 'Host: a@b\r\n', '\x00');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.array(fc.nat(400), { maxLength: 4 }), (pieces, cuts) => {
        const input = pieces.join('');
        const whole = run(input);
        const split = run(input, cuts);
        assert.equal(split.code, whole.code);
        if (!whole.tunnel) assert.equal(split.passed, whole.passed);
        assert.ok(input.startsWith(whole.passed));
      }),
      { numRuns: 3000 },
    );
  });
});
