/**
 * The fleet simulator as a command:
 *   node --conditions=development --import tsx loadtest/src/fleet/main.ts --agents 20 --duration 60s --rate 50/s
 * (or `npm run fleet -w @chaperone/loadtest -- …`). See --help.
 */
import { loadConfig } from '@chaperone/config';
import { createHttpExecutor } from '@chaperone/store';
import { formatLossReport } from '../loss/run.js';
import { adminReader } from '../loss/sessions.js';
import { parseDuration } from './args.js';
import { checkFleet } from './check.js';
import { helpText, parseCommon, runMain, type CommandSpec } from './cli.js';
import { runFleet } from './fleet.js';
import { loadStack } from './stack.js';
import { formatReport } from './stats.js';

const spec: CommandSpec = {
  name: 'fleet',
  usage: 'fleet [--agents N] [--duration D] [--rate R] [--mix pg=80,blocked=5,git=10,http=5] [--no-check] [--json]',
  description:
    'Runs a fleet of simulated agents through the load-balanced endpoint (haproxy → gateway nodes):\n' +
    'PostgreSQL sessions with reads on `demo`, writes on `sandbox` and statements the policy blocks;\n' +
    'git fetches and pushes and JSON API calls when the stack has the HTTP gateway. Shows live\n' +
    'progress on stderr, then a report (throughput, latency p50/p95/p99 per protocol, errors by\n' +
    'kind) and the loss check: every command the upstreams executed recorded exactly once, nothing\n' +
    'refused executed, every session sealed.',
  defaults: { agents: 20, duration: '60s', rate: '50/s' },
  extra: { 'no-check': 'skip the loss check after the run', 'check-timeout': 'how long the loss check waits for the materializer (default 90s)' },
  booleans: ['no-check'],
};

runMain(spec, async () => {
  const { args, extra, help } = parseCommon(process.argv.slice(2), spec);
  if (help) {
    process.stdout.write(`${helpText(spec)}\n`);
    return 0;
  }
  const stack = loadStack();
  const config = loadConfig(stack.CHAPERONE_CONFIG);
  const run = await runFleet({ stack, config, agents: args.agents, durationMs: args.durationMs, rate: args.rate, mix: args.mix, progress: args.progress });
  let loss;
  if (extra['no-check'] !== true) {
    const exec = createHttpExecutor(config.clickhouse);
    const store = adminReader(exec);
    try {
      const timeoutMs = typeof extra['check-timeout'] === 'string' ? parseDuration(extra['check-timeout']) : 90_000;
      loss = await checkFleet(run, { store, stack, timeoutMs });
    } finally {
      await exec.close();
    }
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ report: run.report, loss: loss ?? null }, null, 2)}\n`);
  else process.stdout.write(`${formatReport(run.report)}\n${loss ? `${formatLossReport(loss)}\n` : ''}`);
  return loss && !loss.ok ? 1 : 0;
});
