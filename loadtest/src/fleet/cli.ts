import { parseArgs } from 'node:util';
import { DEFAULT_MIX, parseDuration, parseMix, parseRate, type Mix } from './args.js';
import { FleetError } from './errors.js';

/** Options every fleet-driven command takes (the fleet itself and each fault scenario). */
export interface CommonArgs {
  agents: number;
  durationMs: number;
  rate: number;
  mix: Mix;
  json: boolean;
  progress: boolean;
}

export interface CommandSpec {
  name: string;
  usage: string;
  description: string;
  defaults: { agents: number; duration: string; rate: string; mix?: string };
  /** Extra flags (name → help text); all take a value unless listed in `booleans`. */
  extra?: Record<string, string>;
  booleans?: string[];
}

export function helpText(spec: CommandSpec): string {
  const d = spec.defaults;
  const lines = [
    `usage: ${spec.usage}`,
    '',
    spec.description,
    '',
    'options:',
    `  --agents N          concurrent agents, each with its own token and identity (default ${d.agents})`,
    `  --duration D        how long the fleet runs: 60s, 2m, 1500ms (default ${d.duration})`,
    `  --rate R            operations per second for the whole fleet: 50/s or 600/m (default ${d.rate})`,
    `  --mix M             weights of pg (reads on demo, writes on sandbox), blocked (statements the`,
    `                      policy refuses), git (fetch / push a new branch), http (JSON API calls)`,
    `                      (default ${d.mix ?? 'pg=80,blocked=5,git=10,http=5'})`,
    ...Object.entries(spec.extra ?? {}).map(([k, v]) => `  --${k.padEnd(18)}${v}`),
    '  --json              print the result as JSON on stdout (progress and notes stay on stderr)',
    '  --no-progress       no live progress line',
    '  -h, --help          this help',
    '',
    'Needs the local stack with its gateways behind haproxy (deploy/local/up). Exit status: 0 when',
    'the loss check passes, 1 when it fails, 2 for a usage or setup error.',
  ];
  return lines.join('\n');
}

/** Parses argv for a fleet-driven command; `extra` holds the command's own flags. */
export function parseCommon(argv: string[], spec: CommandSpec): { args: CommonArgs; extra: Record<string, string | boolean | undefined>; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    agents: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    mix: { type: 'string' },
    json: { type: 'boolean' },
    'no-progress': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const k of Object.keys(spec.extra ?? {})) options[k] = { type: spec.booleans?.includes(k) ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values;
  } catch (err) {
    throw new FleetError('BAD_ARGS', `${(err as Error).message} (see --help)`);
  }
  const str = (k: string, d: string) => (typeof values[k] === 'string' ? (values[k]) : d);
  const agents = Number(str('agents', String(spec.defaults.agents)));
  if (!Number.isInteger(agents) || agents < 1) throw new FleetError('BAD_ARGS', `--agents must be a positive integer, got "${str('agents', '')}"`);
  const extra: Record<string, string | boolean | undefined> = {};
  for (const k of Object.keys(spec.extra ?? {})) extra[k] = values[k];
  return {
    help: values.help === true,
    extra,
    args: {
      agents,
      durationMs: parseDuration(str('duration', spec.defaults.duration)),
      rate: parseRate(str('rate', spec.defaults.rate)),
      mix: values.mix ? parseMix(values.mix as string) : spec.defaults.mix ? parseMix(spec.defaults.mix) : DEFAULT_MIX,
      json: values.json === true,
      progress: values['no-progress'] !== true,
    },
  };
}

/** Runs a command's main, turning errors into a readable message and exit status 2. */
export function runMain(spec: CommandSpec, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`${spec.name}: ${err instanceof FleetError ? err.message : (err.stack ?? err.message)}\n`);
      process.exitCode = 2;
    },
  );
}
