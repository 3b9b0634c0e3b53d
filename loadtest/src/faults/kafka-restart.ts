/**
 * Fault: restart the Kafka broker mid-run (`deploy/local/restart kafka`).
 *   node --conditions=development --import tsx loadtest/src/faults/kafka-restart.ts --help
 */
import { deploy, waitHealthy } from '../fleet/stack.js';
import { faultCommand, isMain } from './command.js';
import type { Fault } from './scenario.js';

/** Errors an agent may see while recording is unavailable: each one ends a session cleanly. */
const CLEAN = [/^postgres:58000 /, /^postgres:57P01 /, /Connection terminated/, /ECONNRESET/, /^http:HTTP 50[23]/, /^git:/];

export function kafkaRestart(): Fault {
  return {
    name: 'kafka-restart',
    title: 'restart the Kafka broker mid-run',
    expectation:
      'While the broker is down, statements wait for their acknowledgement (record-before-forward) and a session whose ' +
      'events are not acknowledged within kafka.ackTimeout ends with FATAL 58000 "recording is unavailable … nothing ' +
      'unrecorded was forwarded"; agents reconnect once the broker is back. Those sessions cannot record their end, so ' +
      'they stay open (gap-free) until the materializer seals them incomplete. Nothing executed is unrecorded.',
    cutsSessions: true,
    async inject(ctx) {
      // `restart` = down (SIGTERM, the broker's controlled shutdown) + up (waits for health).
      ctx.say('deploy/local/restart kafka');
      await deploy('restart', ['kafka']);
    },
    async recover(ctx) {
      await waitHealthy(120_000, ['kafka']);
      // The gateways report unhealthy while their producer is disconnected; wait until they have reconnected.
      await waitHealthy(120_000);
      ctx.say('kafka and every gateway healthy again');
    },
    verify(_ctx, run) {
      const unclean = Object.entries(run.report.errorsByKind).filter(([k]) => !CLEAN.some((re) => re.test(k)));
      return Promise.resolve(unclean.length ? [`agents saw errors other than clean session ends: ${unclean.map(([k, n]) => `${n}× ${k}`).join('; ')}`] : []);
    },
  };
}

if (isMain(import.meta.url)) faultCommand(kafkaRestart());
