/**
 * The HTTP front door's smuggling and parser conformance suite (lib/http-cases.ts: RFC 9112
 * message rules, PortSwigger request-smuggling classes, path normalisation, credential
 * injection), run against the real stack through haproxy and directly at a gateway node, over
 * HTTP/1.1 and HTTP/2. Every case asserts the status the agent gets, that the connection is
 * closed, how many requests the real upstream (the JSON API) parsed for it — a differential
 * check of the gateway's framing against the upstream-facing parser — and, at the end, that no
 * smuggled request reached the upstream or was recorded as forwarded.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issueToken, uniqueSubject } from './lib/http.js';
import { h1Cases, h2Cases, type CaseInput } from './lib/http-cases.js';
import { ENTRIES, UpstreamLog, forwardedMarkers, marker, sendH2, sendRaw } from './lib/http-wire.js';
import { loadStack, type Stack } from './lib/stack.js';

describe('HTTP front door conformance', () => {
  let stack: Stack;
  let token: string;
  let log: UpstreamLog;
  const subject = uniqueSubject('conformance');
  const smuggled: string[] = [];
  let allowed = 0;
  const h1 = h1Cases();
  const h2 = h2Cases();

  before(async () => {
    stack = loadStack();
    token = await issueToken(stack, subject);
    log = new UpstreamLog(stack);
  });

  it('has at least 100 cases', () => {
    assert.ok(h1.length + h2.length >= 100, `${h1.length} + ${h2.length}`);
  });

  for (const entry of ENTRIES) {
    describe(`HTTP/1.1 via ${entry}`, () => {
      for (const c of h1) {
        it(`${c.cls}: ${c.name}`, async () => {
          const i: CaseInput = { token, m: marker(c.cls), s: marker(`${c.cls}-smuggled`) };
          smuggled.push(i.s);
          const r = await sendRaw(stack, entry, Buffer.from(c.bytes(i), 'latin1'));
          assert.ok(c.status.includes(r.statuses[0] ?? 0), `status ${r.statuses[0]} not in ${c.status.join('|')}: ${r.text.slice(0, 300)}`);
          assert.equal(r.statuses.length, 1, `one response only: ${r.statuses.join(',')}`);
          assert.ok(r.closed, 'the gateway closed the connection');
          const forwarded = c.forwarded ?? (r.statuses[0]! < 300 ? 1 : 0);
          allowed += forwarded;
          assert.equal(await log.countFor(i.m, forwarded), forwarded, `the upstream parsed ${forwarded} request(s) for the case`);
          assert.deepEqual(log.linesFor(i.s), [], 'the upstream never parsed the smuggled request');
        });
      }
    });

    describe(`HTTP/2 via ${entry}`, () => {
      for (const c of h2) {
        it(`${c.cls}: ${c.name}`, async () => {
          const i: CaseInput = { token, m: marker(c.cls), s: marker(`${c.cls}-smuggled`) };
          smuggled.push(i.s);
          const r = await sendH2(stack, entry, c.headers(i), c.body?.(i));
          const status = r.status === 0 || (r.reset && r.status === 0) ? 0 : r.status;
          assert.ok(c.status.includes(status), `status ${r.status} (${r.reset ?? 'no reset'}) not in ${c.status.join('|')}: ${r.body.slice(0, 200)}`);
          const forwarded = status >= 200 && status < 300 ? 1 : 0;
          allowed += forwarded;
          assert.equal(await log.countFor(i.m, forwarded), forwarded);
          assert.deepEqual(log.linesFor(i.s), []);
        });
      }
    });
  }

  it('no smuggled request was recorded as forwarded', async () => {
    assert.deepEqual(await forwardedMarkers(stack, subject, smuggled, allowed), []);
    for (const s of smuggled) assert.deepEqual(log.linesFor(s), [], s);
  });
});
