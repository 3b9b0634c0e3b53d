import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../fleet/args.js';
import { helpText, parseCommon, runMain, type CommandSpec } from '../fleet/cli.js';
import { formatLossReport } from '../loss/run.js';
import { formatScenario, runScenario, type Fault } from './scenario.js';

/** True when `moduleUrl` is the file node was started with (the scenario runs as a command). */
export function isMain(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** The long form of a fault scenario as a command (defaults: 20 agents, 60 s, 50/s). */
export function faultCommand(fault: Fault, defaults: { agents?: number; duration?: string; rate?: string; mix?: string } = {}): void {
  const spec: CommandSpec = {
    name: fault.name,
    usage: `node --conditions=development --import tsx loadtest/src/faults/${fault.name}.ts [--agents N] [--duration D] [--rate R] [--mix M] [--fault-at D] [--hold D] [--json]`,
    description: `Fault scenario: ${fault.title}.\n${fault.expectation}\nRuns a fleet, injects the fault at --fault-at, recovers after --hold, lets the fleet finish, checks\nthat the stack is healthy again, then runs the loss checker and prints a verdict.`,
    defaults: { agents: defaults.agents ?? 20, duration: defaults.duration ?? '60s', rate: defaults.rate ?? '50/s', ...(defaults.mix ? { mix: defaults.mix } : {}) },
    extra: { 'fault-at': 'when the fault is injected, from the start (default: a third of --duration)', hold: 'how long the fault lasts before recovery (default 3s)' },
  };
  runMain(spec, async () => {
    const { args, extra, help } = parseCommon(process.argv.slice(2), spec);
    if (help) {
      process.stdout.write(`${helpText(spec)}\n`);
      return 0;
    }
    const r = await runScenario(fault, {
      fleet: { agents: args.agents, durationMs: args.durationMs, rate: args.rate, mix: args.mix, progress: args.progress },
      ...(typeof extra['fault-at'] === 'string' ? { faultAtMs: parseDuration(extra['fault-at']) } : {}),
      ...(typeof extra.hold === 'string' ? { holdMs: parseDuration(extra.hold) } : {}),
    });
    if (args.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else process.stdout.write(`${formatScenario(r, formatLossReport)}\n`);
    return r.ok ? 0 : 1;
  });
}
