import { Command } from 'commander';

/** The root `chaperone` command, before its subcommands register (main.ts, REFERENCE.md). */
export function createProgram(): Command {
  return new Command('chaperone')
    .description('Chaperone: the access gateway for AI agents and CI/CD jobs')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`chaperone: ${str.replace(/^error: /, '')}`) });
}
