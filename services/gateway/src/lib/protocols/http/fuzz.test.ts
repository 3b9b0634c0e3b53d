/**
 * Property-based fuzzing of the request checks (convention 6): any input either passes with
 * the documented guarantees or yields an HttpProtocolError; nothing else ever escapes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAgentAuthorization } from './auth.js';
import { HttpProtocolError } from './errors.js';
import { checkRequestHead } from './headers.js';
import { selectRoute } from './route.js';
import { parseTarget } from './target.js';
import { WsFrameReader } from './websocket.js';

const RUNS = 10_000;

function protocolErrorOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof HttpProtocolError)) throw err;
    return undefined;
  }
}

const pathChars = fc.constantFrom(...'/./.%2e%2E%2f%2F%5c%00ab-_~:@!$&\'()*+,;=?#\\ "<>%'.split(''), '..', '%2e%2e', '//', '%', '%zz', 'é', '\u0000');
const target = fc.array(pathChars, { maxLength: 30 }).map((a) => a.join(''));

describe('HTTP request checks under fuzzing', () => {
  it('an accepted target never lets a route prefix be escaped', () => {
    const routes = [{ hosts: [], prefix: '/git/', value: 'git' }];
    fc.assert(
      fc.property(target, fc.constantFrom('GET', 'POST', 'OPTIONS'), (t, method) => {
        const r = protocolErrorOr(() => parseTarget(`/git/${t}`, method));
        if (!r) return;
        for (const s of r.segments) {
          assert.ok(s !== '.' && s !== '..', `dot segment in ${JSON.stringify(t)}`);
          assert.ok(!/[/\\\0]/.test(s), `separator in a segment of ${JSON.stringify(t)}`);
        }
        const m = selectRoute(routes, 'h', r.path);
        assert.ok(m && new URL(`http://h${r.path}`).pathname.startsWith('/git'), `normalised path leaves the prefix: ${r.path}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('random strings as targets', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => void protocolErrorOr(() => parseTarget(t, 'GET'))), { numRuns: RUNS });
  });

  it('random header lists: framing is unambiguous when accepted', () => {
    const name = fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'X-A', 'content-length', 'transfer-encoding', 'Bad Name', 'X:Y', '');
    const value = fc.oneof(fc.constantFrom('5', '0', 'chunked', 'gzip, chunked', '5, 5', '-1', 'a\r\nb', 'x\ny', ''), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
        const raw = pairs.flat();
        const f = protocolErrorOr(() => checkRequestHead(raw, 1_000_000));
        if (!f) return;
        const lower = pairs.map(([n]) => n.toLowerCase());
        assert.ok(!(lower.includes('content-length') && lower.includes('transfer-encoding')), 'CL together with TE accepted');
        assert.ok(lower.filter((n) => n === 'host').length <= 1);
        for (const [, v] of pairs) assert.ok(!/[\r\n\0]/.test(v), 'control characters accepted');
      }),
      { numRuns: RUNS },
    );
  });

  it('random Authorization values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.base64String().map((b) => `Basic ${b}`), fc.string().map((s) => `Bearer ${s}`)), (v) => {
        const c = protocolErrorOr(() => parseAgentAuthorization(v));
        if (c) assert.ok(c.token.length > 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('random WebSocket byte streams stay bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const r = new WsFrameReader(256);
        for (const c of chunks) {
          const { frames, error } = r.push(Buffer.from(c));
          for (const f of frames) assert.ok(f.payloadLength <= 256);
          if (error) {
            assert.ok(error instanceof HttpProtocolError);
            break;
          }
          assert.ok(r.bufferedBytes <= 256 + 14);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
