/**
 * Fault: SIGKILL one gateway node mid-run, then `deploy/local/up --only gateway-N`.
 *   node --conditions=development --import tsx loadtest/src/faults/gateway-kill.ts --help
 */
import { FleetError } from '../fleet/errors.js';
import { componentPid, deploy, gatewayNames, waitHealthy } from '../fleet/stack.js';
import { loadSessions, CLIENT_ENDS } from '../loss/sessions.js';
import { faultCommand, isMain } from './command.js';
import type { Fault } from './scenario.js';

/** deploy/local names node i `gateway-i` and runs it with `--node-id gw-i`. */
/** How long verify waits for the surviving nodes' sessions to be materialized as sealed. */
const SETTLE_MS = 60_000;

const nodeIdOf = (component: string) => component.replace(/^gateway-/, 'gw-');

export function gatewayKill(): Fault {
  let victim = '';
  return {
    name: 'gateway-kill',
    title: 'SIGKILL one gateway node mid-run',
    expectation:
      'Agents on the killed node lose their sessions (connection reset) and reconnect through haproxy to the other node(s) ' +
      'within a few seconds (haproxy marks the node down after 2 failed health checks, 2 s apart); sessions on the other ' +
      'nodes are undisturbed. Sessions cut off by the kill have a gap-free chain and are sealed incomplete by the ' +
      'materializer after materializer.idleTimeout. Nothing executed is unrecorded.',
    cutsSessions: true,
    inject(ctx) {
      const nodes = gatewayNames(ctx.stack);
      if (nodes.length < 2) throw new FleetError('SETUP_FAILED', 'gateway-kill needs at least 2 gateway nodes (CHAPERONE_GATEWAY_NODES=2 deploy/local/up)');
      victim = nodes.at(-1)!;
      const pid = componentPid(ctx.stack, victim);
      process.kill(pid, 'SIGKILL');
      ctx.say(`SIGKILL ${victim} (pid ${pid})`);
      return Promise.resolve();
    },
    async recover(ctx) {
      await deploy('up', ['--only', victim, '--quiet']);
      await waitHealthy(60_000, [victim, 'haproxy']);
      ctx.say(`${victim} back (deploy/local/up --only ${victim})`);
    },
    async verify(ctx, run) {
      const killed = nodeIdOf(victim);
      // The loss check tolerates sessions without an end (the victim's), so it can pass while the
      // materializer is still writing the surviving nodes' last SessionEnded events: poll until
      // those are sealed, or until the deadline makes the finding stand.
      const deadline = Date.now() + SETTLE_MS;
      let sessions: Awaited<ReturnType<typeof loadSessions>>;
      let disturbed: typeof sessions;
      for (;;) {
        sessions = await loadSessions({ store: ctx.store, sinceMs: run.startedAtMs, subjects: run.subjects });
        disturbed = sessions.filter((s) => s.nodeId !== killed && !(s.state === 'sealed' && CLIENT_ENDS.has(s.endReason)));
        if (disturbed.every((s) => s.state === 'sealed') || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const problems = disturbed.length ? [`${disturbed.length} sessions on surviving nodes did not end by their client: ${disturbed.slice(0, 3).map((s) => `${s.sessionId} on ${s.nodeId} (${s.state}, ${s.endReason || 'no end'})`).join('; ')}`] : [];
      const onVictim = sessions.filter((s) => s.nodeId === killed).length;
      ctx.say(`${sessions.length} sessions: ${onVictim} on ${killed}, ${sessions.length - onVictim} on the others (${disturbed.length} of those disturbed)`);
      return problems;
    },
  };
}

if (isMain(import.meta.url)) faultCommand(gatewayKill());
