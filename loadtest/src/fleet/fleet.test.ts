import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseMix, parseRate, pick } from './args.js';
import { errorKind, statementLevel } from './classify.js';
import { FleetStats, formatReport, percentile, summarize } from './stats.js';

describe('fleet arguments', () => {
  it('reads durations, rates and mixes, and says what is wrong', () => {
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1500ms'), 1500);
    assert.equal(parseDuration('5'), 5000);
    assert.throws(() => parseDuration('soon'), /not a duration: "soon"/);
    assert.equal(parseRate('50/s'), 50);
    assert.equal(parseRate('600/m'), 10);
    assert.throws(() => parseRate('0/s'), /not a rate/);
    assert.deepEqual(parseMix('pg=80,blocked=5,git=10,http=5'), { pg: 80, blocked: 5, git: 10, http: 5 });
    assert.deepEqual(parseMix('pg=1'), { pg: 1, blocked: 0, git: 0, http: 0 });
    assert.throws(() => parseMix('ssh=3'), /bad mix entry "ssh=3"/);
    assert.throws(() => parseMix('pg=0'), /no positive weight/);
  });

  it('picks kinds in proportion to their weights', () => {
    const mix = { pg: 80, blocked: 5, git: 10, http: 5 };
    const counts = { pg: 0, blocked: 0, git: 0, http: 0 };
    for (let i = 0; i < 1000; i++) counts[pick(mix, i / 1000)]++;
    assert.deepEqual(counts, { pg: 800, blocked: 50, git: 100, http: 50 });
  });
});

describe('fleet statistics', () => {
  it('computes nearest-rank percentiles', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(s, 50), 50);
    assert.equal(percentile(s, 95), 95);
    assert.equal(percentile(s, 99), 99);
    assert.equal(percentile([], 50), 0);
    assert.deepEqual(summarize([3, 1, 2]), { count: 3, p50: 2, p95: 3, p99: 3, max: 3, mean: 2 });
  });

  it('reports per operation and per protocol, errors by kind', () => {
    const st = new FleetStats();
    st.success('postgres.read', 2);
    st.success('postgres.write', 4);
    st.success('http.get', 10);
    st.failure('postgres:57P01 the gateway node is shutting down');
    st.opened('postgres');
    const r = st.report({ runId: 'r1', startedAtMs: 0, endedAtMs: 2000, agents: 2, targetRate: 5 });
    assert.equal(r.throughput, 1.5);
    assert.deepEqual(Object.keys(r.latency), ['http', 'http.get', 'postgres', 'postgres.read', 'postgres.write']);
    assert.equal(r.latency.postgres!.count, 2);
    assert.deepEqual(r.errorsByKind, { 'postgres:57P01 the gateway node is shutting down': 1 });
    assert.match(formatReport(r), /throughput 1.5 ops\/s — 3 ok, 1 errors/);
    assert.deepEqual(st.between(0, Date.now() + 1000), { ok: 3, errors: 1 });
  });

  it('classifies errors into stable kinds without ids, numbers or URLs', () => {
    const pgErr = Object.assign(new Error('chaperone: the gateway node is shutting down; reconnect to continue'), { code: '57P01', severity: 'FATAL' });
    assert.equal(errorKind('postgres', pgErr), 'postgres:57P01 the gateway node is shutting down; reconnect to continue');
    assert.equal(statementLevel(pgErr), false);
    assert.equal(statementLevel(Object.assign(new Error('denied'), { code: '42501', severity: 'ERROR' })), true);
    assert.equal(errorKind('git', new Error("fatal: unable to access 'https://127.0.0.1:8443/git/fleet-r1.git/': Connection reset")), 'git:fatal: unable to access <url>: Connection reset');
    assert.equal(errorKind('http', Object.assign(new Error('x'), { status: 502 })), 'http:HTTP 502');
  });
});
