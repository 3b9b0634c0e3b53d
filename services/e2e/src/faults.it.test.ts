/**
 * The fault scenarios of loadtest/src/faults in CI size: each runs a small fleet (4 agents,
 * PostgreSQL, git and HTTP through haproxy) for 10 s, injects its fault 2.5 s in, recovers, and
 * must pass the loss checker — zero statements, requests or pushes executed but unrecorded,
 * nothing refused executed, every session sealed (or, after a crash, cut off with a gap-free
 * chain) — and leave the stack healthy for the tests after it. The long forms are commands:
 * see loadtest/README.md.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  clickhouseRestart,
  deployLocal,
  formatLossReport,
  formatScenario,
  gatewayKill,
  kafkaRestart,
  materializerKill,
  parseMix,
  runScenario,
  stackStatus,
  temporalStop,
  waitHealthy,
  type Fault,
  type ScenarioResult,
} from '@chaperone/loadtest';
import { loadStack, type Stack } from './lib/stack.js';

const fleet = { agents: 4, durationMs: 10_000, rate: 12, progress: false };

async function scenario(fault: Fault, mix = 'pg=70,blocked=10,git=10,http=10'): Promise<ScenarioResult> {
  const r = await runScenario(fault, { fleet: { ...fleet, mix: parseMix(mix) }, faultAtMs: 2500, holdMs: 500, checkTimeoutMs: 60_000 });
  assert.ok(r.ok, formatScenario(r, formatLossReport));
  assert.ok(r.run.report.ok > 0, 'the fleet did work');
  return r;
}

describe('fault scenarios (CI size) end with zero loss', { timeout: 600_000 }, () => {
  let stack: Stack;

  before(async () => {
    stack = loadStack();
    await waitHealthy(120_000);
  });

  after(async () => {
    // Whatever happened above, the tests after this file need every component back.
    const bad = (await stackStatus()).filter((c) => !(c.alive && c.healthy));
    if (bad.length > 0) await deployLocal('up', ['--quiet']);
    await waitHealthy(120_000);
  });

  it('SIGKILL a gateway node: its agents reconnect through haproxy, other sessions undisturbed', { timeout: 150_000 }, async () => {
    const r = await scenario(gatewayKill());
    assert.ok(Number(stack.GATEWAY_NODES) >= 2);
    // Sessions cut off by the kill are left for the materializer's incomplete seal; all the others are sealed.
    assert.equal(r.loss.sessions.unsealed, 0);
    assert.ok(r.after.errors === 0, `errors after recovery: ${JSON.stringify(r.run.report.errorsByKind)}`);
  });

  it('restart Kafka: sessions wait or end with FATAL 58000, never forward unrecorded', { timeout: 150_000 }, async () => {
    const r = await scenario(kafkaRestart());
    for (const kind of Object.keys(r.run.report.errorsByKind)) assert.doesNotMatch(kind, /XX000|08P01/, 'no internal or protocol errors');
  });

  it('SIGKILL the materializer: agents notice nothing, every event materialized once after the restart', { timeout: 150_000 }, async () => {
    const r = await scenario(materializerKill());
    assert.equal(r.run.report.errors, 0);
  });

  it('restart ClickHouse: agents notice nothing, the materializer catches up', { timeout: 150_000 }, async () => {
    const r = await scenario(clickhouseRestart());
    assert.equal(r.run.report.errors, 0);
  });

  it('stop Temporal with approvals pending: nothing runs unapproved, approved statements run once', { timeout: 200_000 }, async () => {
    const r = await scenario(temporalStop(), 'pg=90,blocked=10');
    assert.ok(r.timeline.some((t) => /approved approval-/.test(t.event)), r.timeline.map((t) => t.event).join('\n'));
  });
});
