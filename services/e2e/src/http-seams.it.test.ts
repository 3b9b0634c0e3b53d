/**
 * The eight seams of issue #14, each against the real stack, through haproxy and directly at a
 * gateway node: every request carries a marker, and only the JSON API upstream's own access-log
 * lines (one per request it parsed) and the recorded commands count.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issueToken, uniqueSubject } from './lib/http.js';
import { ENTRIES, UpstreamLog, fields, forwardedMarkers, marker, sendRaw, sendH2 } from './lib/http-wire.js';
import { loadStack, type Stack } from './lib/stack.js';

describe('HTTP front door: the seams of issue #14', () => {
  let stack: Stack;
  let token: string;
  const subject = uniqueSubject('seams');
  /** Markers of requests that must never be forwarded, and how many requests were allowed. */
  const smuggled: string[] = [];
  let allowed = 0;

  before(async () => {
    stack = loadStack();
    token = await issueToken(stack, subject);
  });

  /** A valid request the gateway must not serve when it comes after a refusal. */
  const follower = (m: string): string => `GET /api/echo/${m} HTTP/1.1\r\n${fields(token)}Connection: close\r\n\r\n`;
  /**
   * A valid request first on the connection: its token is then known to the connection and its
   * response is still pending while the requests behind it are read, as in the attack session.
   */
  const lead = (m: string): string => {
    allowed++;
    return `GET /api/echo/${m} HTTP/1.1\r\n${fields(token)}\r\n`;
  };

  for (const entry of ENTRIES) {
    describe(`via ${entry}`, () => {
      it('1: a refused Transfer-Encoding is not used to find the next request', async () => {
        for (const te of ['identity, chunked', 'gzip, chunked']) {
          const log = new UpstreamLog(stack);
          const first = marker('te-first');
          const second = marker('te-second');
          smuggled.push(first, second);
          const r = await sendRaw(stack, entry, `${lead(marker('lead'))}POST /api/echo/${first} HTTP/1.1\r\n${fields(token)}Transfer-Encoding: ${te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n${follower(second)}`);
          assert.deepEqual(r.statuses, [200, 501], r.text.slice(0, 300));
          assert.ok(r.closed, 'the connection is closed');
          assert.deepEqual([...log.linesFor(first), ...log.linesFor(second)], [], 'the upstream parsed neither request');
        }
      });

      it('2: nothing pipelined behind a refused request reaches the upstream', async () => {
        const refusedHeads = [`GET /api/../api/echo/x HTTP/1.1\r\n${fields(token)}\r\n`, `GET /api/echo/x HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nAuthorization: Bearer not.a.token\r\n\r\n`];
        for (const head of refusedHeads) {
          const log = new UpstreamLog(stack);
          const second = marker('after-refusal');
          smuggled.push(second);
          const r = await sendRaw(stack, entry, lead(marker('lead')) + head + follower(second));
          assert.equal(r.statuses.length, 2, r.text.slice(0, 300));
          assert.ok(r.statuses[1] === 400 || r.statuses[1] === 401, r.text.slice(0, 200));
          assert.ok(r.closed);
          assert.deepEqual(log.linesFor(second), []);
        }
      });

      it('3: CR LF inside the request target is a 400, not an HTTP/0.9 request with injected headers', async () => {
        const log = new UpstreamLog(stack);
        const m = marker('crlf-target');
        smuggled.push(m);
        const r = await sendRaw(stack, entry, `GET /api/echo/${m}\r\nX-Injected: 1 HTTP/1.1\r\n${fields(token)}Connection: close\r\n\r\n`);
        assert.deepEqual(r.statuses, [400], r.text.slice(0, 300));
        assert.ok(r.closed);
        assert.deepEqual(log.linesFor(m), []);
      });

      it('4: a chunk size of 16 f digits (or more digits than 16) is a 400 and nothing streams upstream', async () => {
        for (const size of ['ffffffffffffffff', '00000000000000000010']) {
          const log = new UpstreamLog(stack);
          const m = marker('chunk-size');
          smuggled.push(m);
          const r = await sendRaw(stack, entry, `POST /api/echo/${m} HTTP/1.1\r\n${fields(token)}Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${'x'.repeat(70 * 1024)}`);
          assert.deepEqual(r.statuses, [400], r.text.slice(0, 300));
          assert.ok(r.closed);
          assert.deepEqual(log.linesFor(m), []);
        }
      });

      it('5: double-encoded dots, overlong UTF-8 and ";" on dot segments are refused', async () => {
        for (const seg of ['%252e%252e', '..%252f', '%c0%ae%c0%ae', '..;', '.;x=1', '%2e%2e;jsessionid=1']) {
          const log = new UpstreamLog(stack);
          const m = marker('path');
          smuggled.push(m);
          const r = await sendRaw(stack, entry, `GET /api/${seg}/echo/${m} HTTP/1.1\r\n${fields(token)}Connection: close\r\n\r\n`);
          assert.deepEqual(r.statuses, [400], `${seg}: ${r.text.slice(0, 300)}`);
          assert.deepEqual(log.linesFor(m), [], seg);
        }
        const h2 = await sendH2(stack, entry, { ':method': 'GET', ':path': `/api/%252e%252e/echo/${marker('h2-path')}`, authorization: `Bearer ${token}` });
        assert.equal(h2.status, 400);
      });

      it('6: a Host that is not host[:port] is refused', async () => {
        for (const host of ['127.0.0.1/git/', 'user@127.0.0.1:18081', '127.0.0.1:8443 x', '127.0.0.1:99999']) {
          const log = new UpstreamLog(stack);
          const m = marker('host');
          smuggled.push(m);
          const r = await sendRaw(stack, entry, `GET /api/echo/${m} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
          assert.deepEqual(r.statuses, [400], `${host}: ${r.text.slice(0, 300)}`);
          assert.deepEqual(log.linesFor(m), []);
        }
        const h2 = await sendH2(stack, entry, { ':method': 'GET', ':path': `/api/echo/${marker('h2-host')}`, ':authority': 'user@localhost', authorization: `Bearer ${token}` });
        assert.equal(h2.status, 400);
      });

      it("7: the agent's own copy of the injected header is never forwarded", async () => {
        const log = new UpstreamLog(stack);
        const m = marker('api-key');
        allowed++;
        // The JSON API joins repeated X-Api-Key fields and refuses anything but the injected key.
        const r = await sendRaw(stack, entry, `GET /api/echo/${m} HTTP/1.1\r\n${fields(token)}X-Api-Key: agent-key\r\nx-api-key: second-agent-key\r\nCookie: sid=agent\r\nConnection: close\r\n\r\n`);
        assert.deepEqual(r.statuses, [200], r.text.slice(0, 400));
        assert.doesNotMatch(r.text, /"cookie"/, 'Cookie is not forwarded by default');
        assert.equal(await log.countFor(m, 1), 1);
        allowed++;
        const h2 = await sendH2(stack, entry, { ':method': 'GET', ':path': `/api/echo/${marker('h2-api-key')}`, authorization: `Bearer ${token}`, 'x-api-key': 'agent-key' });
        assert.equal(h2.status, 200, h2.body);
      });

      it('8: 10 000 minimal header fields (a 40 KB head) get 431 and are not forwarded', async () => {
        const log = new UpstreamLog(stack);
        const m = marker('fields');
        smuggled.push(m);
        const r = await sendRaw(stack, entry, `GET /api/echo/${m} HTTP/1.1\r\n${fields(token)}${'a:\r\n'.repeat(10_000)}Connection: close\r\n\r\n`);
        assert.deepEqual(r.statuses, [431], r.text.slice(0, 300));
        assert.deepEqual(log.linesFor(m), []);
        const many: Record<string, string> = { ':method': 'GET', ':path': `/api/echo/${marker('h2-fields')}`, authorization: `Bearer ${token}` };
        for (let i = 0; i < 150; i++) many[`x-f${i}`] = '1';
        const h2 = await sendH2(stack, entry, many);
        assert.ok(h2.status === 431 || h2.reset !== undefined, `HTTP/2: ${h2.status} ${h2.reset}`);
      });
    });
  }

  it('none of the refused or smuggled requests was recorded as forwarded', async () => {
    assert.deepEqual(await forwardedMarkers(stack, subject, smuggled, allowed), []);
  });
});
