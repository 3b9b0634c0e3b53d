import type { Command } from 'commander';
import { commandsFor } from './commands/index.js';
import { createProgram } from './program.js';

/** The generated reference beside this package's README; `npm run docs` rewrites it. */
export const REFERENCE_FILE = new URL('../../REFERENCE.md', import.meta.url);

/** Help is wrapped at the width commander uses off a terminal (`chaperone … --help | cat`), whatever the terminal. */
const WIDTH = 80;

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command, depth first, in the order `--help` lists them. */
function* allCommands(cmd: Command): Generator<Command> {
  yield cmd;
  for (const sub of cmd.commands) yield* allCommands(sub);
}

/** The `--help` text of every `chaperone` command, exactly as the CLI prints it (at WIDTH columns). */
export async function cliReference(): Promise<string> {
  const program = createProgram();
  let help = '';
  program.configureOutput({ writeOut: (s) => (help += s), getOutHelpWidth: () => WIDTH, getOutHasColors: () => false });
  // Some options take their default from the environment ($CHAPERONE_API): document the defaults
  // of an empty one, whatever the shell that runs this has set.
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('CHAPERONE_'));
  for (const [k] of saved) delete process.env[k];
  try {
    for (const m of await commandsFor([])) m.register(program);
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
  const sections: string[] = [];
  for (const cmd of allCommands(program)) {
    help = '';
    cmd.outputHelp();
    sections.push(`## ${commandPath(cmd)}\n\n\`\`\`text\n${help.trimEnd()}\n\`\`\`\n`);
  }
  return [
    '# chaperone command reference',
    '',
    '<!-- Generated from `--help` of every command by `npm run docs` in services/cli;',
    '     src/lib/reference.test.ts fails when it is stale. Do not edit. -->',
    '',
    'What `chaperone <command> --help` prints, for every command.',
    '',
    ...sections,
  ].join('\n');
}
