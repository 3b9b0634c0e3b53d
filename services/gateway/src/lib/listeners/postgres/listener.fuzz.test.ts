/**
 * Fuzzing the live PostgreSQL listener (issue #3): generated and mutated frames from clients
 * (startup phase and logged-in sessions) and from the upstream, against an in-process
 * PgListener with TLS, real token verification, recording into a memory sink and a fake
 * upstream. Each bad connection must get an error or be closed, in time; nothing may crash;
 * a healthy session keeps getting correct answers throughout; nothing leaks.
 *
 * PG_FUZZ_FRAMES (default 100000) sets the frames per direction, PG_FUZZ_SEED the seed. A
 * failure names the job and its fast-check seed; the same PG_FUZZ_SEED regenerates the same
 * jobs (their timing, and so their interleaving, differs from run to run).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Backend, decodeDataRow, decodeErrorFields, encodeBind, encodeNoticeResponse, encodePasswordMessage, encodeQuery, encodeStartupMessage } from '../../protocols/postgres/index.js';
import { clientSession, runJobs, serverSession, startupConnection, type Outcomes } from './testing/drivers.js';
import { clientFramePool, clientSessionArb, serverFramePool, serverSessionArb } from './testing/frames.js';
import { startPgHarness, type PgHarness } from './testing/harness.js';
import { HealthyLoop } from './testing/healthy.js';
import { RawPgClient, errorMessage } from './testing/raw-client.js';
import { startupSpecArb } from './testing/startup-frames.js';

const FRAMES = Number(process.env.PG_FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.PG_FUZZ_SEED ?? 20_261_124);
/** gateway.postgres.idleTimeout for the suite: a session stuck on a half-sent frame is closed this soon. */
const IDLE_MS = 2000;
/** Longest a fuzzed connection may go without an answer or close: the idle timeout plus slack for two busy cores. */
const HANG_MS = IDLE_MS + 10_000;
const HEAP_GROWTH_LIMIT = 50 * 1024 * 1024;
/** Share of the client-direction frames sent in the startup phase (one or two per connection, so costly). */
const STARTUP_SHARE = 0.05;
/** Distinct generated frames per direction that sessions draw from (see frames.ts fromPool). */
const POOL = 4000;

/** The heap after full collections; --expose-gc is switched on at run time when the runner did not pass it. */
function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString('--expose-gc'), runInNewContext('gc') as () => void);
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const show = (o: Outcomes) => [...o].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');

async function waitFor(what: () => string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`still not true after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe(`PostgreSQL listener under fuzzing (seed ${SEED}, ${FRAMES} frames per direction)`, { timeout: 240_000 }, () => {
  let h: PgHarness;
  let healthy: HealthyLoop;
  let heapBefore = 0;
  const crashes: string[] = [];
  const onCrash = (err: unknown) => void crashes.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  const slowPeers: Promise<string>[] = [];

  /** Every phase ends with these: no crash, the healthy session still answers correctly, the recording stayed consistent. */
  async function checkInvariants(t: TestContext, healthyBefore: number): Promise<void> {
    assert.deepEqual(crashes, [], 'uncaught exceptions or unhandled rejections');
    assert.equal(healthy.error, undefined, `the healthy session failed (seed ${SEED})`);
    await healthy.nextAnswer(HANG_MS);
    assert.ok(healthy.count > healthyBefore);
    assert.ok(healthy.maxLatencyMs < HANG_MS, `a healthy query took ${healthy.maxLatencyMs.toFixed(0)} ms`);
    assert.deepEqual(h.sink.violations, [], 'recording: sequence gaps or events after the end');
    assert.deepEqual(h.upstream.violations, [], 'frames reached the upstream without being recorded first');
    t.diagnostic(`healthy session: ${healthy.count - healthyBefore} correct answers during this phase, slowest ${healthy.maxLatencyMs.toFixed(0)} ms so far`);
  }

  before(async () => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    h = await startPgHarness({ idleTimeout: `${IDLE_MS}ms`, maxMessageBytes: '256KiB' });
    healthy = new HealthyLoop(h);
    await healthy.started;
    heapBefore = heapUsed();
    // Awaited by their own test; handled here so an early failure is not an unhandled rejection.
    slowPeers.push(...startSlowPeers(h).map((p) => (p.catch(() => {}), p)));
  });

  after(async () => {
    await healthy?.stop();
    await h?.close();
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  });

  it('client direction, startup phase: random and mutated packets, SSL/GSSENC requests followed by garbage, oversize lengths', async (t) => {
    const before = healthy.count;
    const outcomes: Outcomes = new Map();
    const r = await runJobs({
      name: 'startup',
      seed: SEED,
      targetFrames: Math.ceil(FRAMES * STARTUP_SHARE),
      // Wide: a few kinds of refusal wait out the gateway's one-second grace before it closes.
      concurrency: 32,
      arb: startupSpecArb(h.subject),
      frames: (s) => s.frames,
      run: (s) => startupConnection(h, s, HANG_MS, outcomes),
    });
    t.diagnostic(`${r.frames} startup-phase frames on ${r.jobs} connections; ${show(outcomes)}`);
    await checkInvariants(t, before);
  });

  it('client direction, logged in: mutated Query/Parse/Bind/Describe/Execute/Sync/Copy/FunctionCall frames', async (t) => {
    const before = healthy.count;
    const outcomes: Outcomes = new Map();
    const pool = clientFramePool(SEED + 1, POOL);
    let mutated = 0;
    const r = await runJobs({
      name: 'client',
      seed: SEED + 1_000_000,
      targetFrames: Math.ceil(FRAMES * (1 - STARTUP_SHARE)),
      concurrency: 12,
      arb: clientSessionArb(pool.frames, 400),
      frames: (s) => s.frames.length,
      run: (s, i) => ((mutated += s.mutated + s.frames.filter((f) => pool.mutated.has(f)).length), clientSession(h, s, i, HANG_MS, outcomes)),
    });
    const [recorded] = h.sink.framesOf('fuzz-client');
    t.diagnostic(`${r.frames} frames on ${r.jobs} sessions, ${mutated} of them byte-mutated (the rest generated with random content); the gateway parsed and recorded ${recorded}; ${show(outcomes)}`);
    assert.ok(recorded >= r.frames * 0.5, `only ${recorded} of ${r.frames} frames were parsed and recorded: sessions die too early to fuzz much`);
    await checkInvariants(t, before);
  });

  it('server direction: mutated backend frames and mutated upstream logins', async (t) => {
    const before = healthy.count;
    const outcomes: Outcomes = new Map();
    const pool = serverFramePool(SEED + 2, POOL);
    let mutated = 0;
    const r = await runJobs({
      name: 'server',
      seed: SEED + 2_000_000,
      targetFrames: FRAMES,
      concurrency: 6,
      arb: serverSessionArb(pool.frames, 1500),
      frames: (s) => (s.login ? s.login.length : s.frames.length),
      run: (s, i) => ((mutated += s.login ? s.login.length : s.mutated + s.frames.filter((f) => pool.mutated.has(f)).length), serverSession(h, s, i, HANG_MS, outcomes)),
    });
    const [, recorded] = h.sink.framesOf('fuzz-server');
    t.diagnostic(`${r.frames} upstream frames on ${r.jobs} sessions, ${mutated} of them byte-mutated; the gateway recorded ${recorded}; ${show(outcomes)}`);
    assert.ok(recorded >= r.frames * 0.5, `only ${recorded} of ${r.frames} upstream frames were recorded`);
    await checkInvariants(t, before);
  });

  it('slow and vanishing peers are cut off by the handshake, login and idle timeouts', async (t) => {
    const results = await Promise.all(slowPeers);
    t.diagnostic(results.join('; '));
  });

  // Regressions found by this suite.
  it('keeps a message the client began in the same write as its password', async () => {
    const q = encodeQuery('SELECT 42');
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
    try {
      const r = await c.login({ user: h.subject, database: 'fake', applicationName: 'split-client', token: h.token, pipelined: q.subarray(0, 7) }, 10_000);
      assert.ok(r.ok, !r.ok ? r.error : '');
      await new Promise((resolve) => setTimeout(resolve, 100));
      c.write(q.subarray(7));
      const got = await c.untilReady(HANG_MS, 'the answer to a query split across the password write');
      assert.equal(decodeDataRow(got.find((m) => m.code === Backend.DataRow)!.payload)[0]?.toString(), '42');
    } finally {
      c.destroy();
    }
  });

  it('keeps a message the upstream began in the same write as its greeting', async () => {
    const notice = (message: string) => encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message });
    const [first, second] = [notice('first'), notice('second')];
    h.upstream.script('split-upstream', { withGreeting: { now: Buffer.concat([first, second.subarray(0, 7)]), later: second.subarray(7), laterMs: 100 } });
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
    try {
      const r = await c.login({ user: h.subject, database: 'fake', applicationName: 'split-upstream', token: h.token }, 10_000);
      assert.ok(r.ok, !r.ok ? r.error : '');
      const got = [await c.next(HANG_MS, 'the first notice'), await c.next(HANG_MS, 'the second notice')];
      assert.deepEqual(got.map((m) => m?.frame), [first, second]);
    } finally {
      c.destroy();
    }
  });

  it('answers a malformed client message with 08P01 protocol_violation, not XX000 internal error', async () => {
    const bind = encodeBind({ params: [Buffer.from('1')] });
    const broken = Buffer.from(bind.subarray(0, bind.length - 3));
    broken.writeInt32BE(broken.length - 1, 1);
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
    try {
      const r = await c.login({ user: h.subject, database: 'fake', applicationName: 'bad-bind', token: h.token }, 10_000);
      assert.ok(r.ok, !r.ok ? r.error : '');
      c.write(broken);
      const error = (await c.untilClosed(HANG_MS, 'the refusal of a malformed Bind')).find((m) => m.code === Backend.ErrorResponse);
      assert.ok(error, 'no ErrorResponse before the close');
      assert.equal(decodeErrorFields(error.payload).C, '08P01', errorMessage(error));
    } finally {
      c.destroy();
    }
  });

  it('nothing leaks: every session ended and sealed, every upstream connection closed, heap growth bounded', async (t) => {
    await healthy.stop();
    assert.equal(healthy.error, undefined);
    await waitFor(() => `no session left (${h.listener.sessions.size} left; unsealed: ${h.sink.openSessions().join(', ')})`, () => h.listener.sessions.size === 0, 10_000);
    await waitFor(() => `every upstream connection closed (${h.upstream.open} open)`, () => h.upstream.open === 0, 10_000);
    assert.deepEqual(h.sink.openSessions(), [], 'sessions recorded as started but never sealed');
    assert.equal(h.sink.counts.started, h.sink.counts.ended);
    const growth = heapUsed() - heapBefore;
    const logged = [...h.logged].map(([k, n]) => `${n}× ${k}`).join('; ');
    t.diagnostic(`heap growth ${(growth / 1024 / 1024).toFixed(1)} MiB over ${h.sink.counts.started} sessions and ${h.sink.counts.events} events; end reasons: ${show(h.sink.endReasons)}`);
    t.diagnostic(`gateway warnings/errors: ${logged || 'none'}`);
    assert.ok(growth < HEAP_GROWTH_LIMIT, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB`);
    assert.deepEqual(crashes, []);
  });
});

/** Peers that stall at each stage; each promise resolves with what happened or rejects. */
function startSlowPeers(h: PgHarness): Promise<string>[] {
  const login = { user: h.subject, database: 'fake', token: h.token };
  const closedWithin = async (what: string, c: RawPgClient, ms: number): Promise<string> => {
    const t0 = Date.now();
    const got = await c.untilClosed(ms, `${what}: the gateway to give up`);
    return `${what}: closed after ${((Date.now() - t0) / 1000).toFixed(1)} s${got.length ? ' with an error' : ''}`;
  };
  return [
    (async () => {
      // Half a StartupMessage, then silence: the handshake timeout (15 s) ends it.
      const c = await RawPgClient.connect(h.port, { tls: false, timeoutMs: 5000 });
      c.write(encodeStartupMessage({ user: h.subject, database: 'fake' }).subarray(0, 12));
      return closedWithin('half a startup packet', c, 25_000);
    })(),
    (async () => {
      // TLS and a StartupMessage, never the password.
      const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
      c.write(encodeStartupMessage({ user: h.subject, database: 'fake' }));
      return closedWithin('no password', c, 25_000);
    })(),
    (async () => {
      // Logged in, then three bytes of a frame and silence: the idle timeout ends it.
      const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
      const r = await c.login({ ...login, applicationName: 'slow-frame' }, 10_000);
      if (!r.ok) throw new Error(r.error);
      c.write(encodeQuery('SELECT 1').subarray(0, 3));
      return closedWithin('half a frame after login', c, IDLE_MS + 10_000);
    })(),
    (async () => {
      // An upstream that never answers the login: the gateway's upstream login timeout (10 s).
      h.upstream.script('silent-upstream', { silent: true });
      const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
      const r = await c.login({ ...login, applicationName: 'silent-upstream' }, 25_000);
      if (r.ok) throw new Error('logged in through an upstream that never answered');
      return `silent upstream: refused (${r.error})`;
    })(),
    (async () => {
      // The client hangs up while the gateway is still logging into the upstream.
      h.upstream.script('hangs-up', { delayMs: 300 });
      const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs: 5000 });
      c.write(encodeStartupMessage({ user: h.subject, database: 'fake', application_name: 'hangs-up' }));
      await c.next(5000, 'the password request');
      c.end(encodePasswordMessage(h.token));
      setTimeout(() => c.destroy(), 50);
      return 'client gone during the upstream login';
    })(),
  ];
}
