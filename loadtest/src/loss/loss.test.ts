import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccessLog, upstreamRequest } from './access-log.js';
import { BackendOwners, sealProblems } from './checker.js';
import { cutSessions, type RecordedSession } from './sessions.js';

const session = (id: string, over: Partial<RecordedSession>): RecordedSession => ({
  sessionId: id, subject: 'agent:x', protocol: 'postgres', nodeId: 'gw-1', startedMicros: 0, state: 'sealed', endReason: 'client-terminate', events: 10, maxSeq: 9, ...over,
});

describe('loss checker parts', () => {
  it('attributes a reused backend pid to the session that owned it when the statement ran', () => {
    const o = new BackendOwners();
    o.add(4242, 1_000_000_000, 'old');
    o.add(4242, 2_000_000_000, 'new');
    assert.equal(o.ownerAt(4242, 990_000), undefined);
    assert.equal(o.ownerAt(4242, 1_500_000), 'old');
    assert.equal(o.ownerAt(4242, 2_000_000), 'new');
    assert.equal(o.ownerAt(4243, 2_000_000), undefined);
  });

  it('tells sealed, marked-incomplete, cut-off and unsealed sessions apart, and finds holes', () => {
    const all = [
      session('a', {}),
      session('b', { state: 'incomplete', endReason: 'idle-timeout' }),
      session('c', { state: 'open', endReason: '' }),
      session('d', { state: 'open', endReason: '', events: 5, maxSeq: 9 }),
      session('e', { state: 'ended-unsigned' }),
      session('f', { endReason: 'drain' }),
    ];
    assert.deepEqual(sealProblems(all, false), { unsealed: ['c', 'd', 'e'], gaps: ['d'], cutOff: [] });
    assert.deepEqual(sealProblems(all, true), { unsealed: ['d', 'e'], gaps: ['d'], cutOff: ['c'] });
    assert.deepEqual([...cutSessions(all)].sort(), ['b', 'c', 'd', 'e', 'f']);
  });

  it('reads the upstreams access logs, with and without a user field', () => {
    const log = [
      '2026-11-24T01:39:15.668Z 127.0.0.1:50766 "DELETE /items/3?fleet=r1&rid=7" 204 0',
      '2026-11-24T01:43:44.451Z 127.0.0.1:37342 git-bot "POST /fleet-r1.git/git-receive-pack" 200 217',
      'garbage',
    ].join('\n');
    assert.deepEqual(parseAccessLog(log).map((e) => `${e.method} ${e.target} ${e.status}`), ['DELETE /items/3?fleet=r1&rid=7 204', 'POST /fleet-r1.git/git-receive-pack 200']);
    assert.equal(parseAccessLog(log, { sinceMs: Date.parse('2026-11-24T01:40:00Z') }).length, 1);
  });

  it('maps a recorded command to the request the upstream saw', () => {
    assert.equal(upstreamRequest('GET /api/items?fleet=r1&rid=3', '/api'), 'GET /items?fleet=r1&rid=3');
    assert.equal(upstreamRequest('POST /git/x.git/git-receive-pack\n000 111 refs/heads/a', '/git'), 'POST /x.git/git-receive-pack');
  });
});
