#!/usr/bin/env node
/**
 * The `chaperone` command: runs the services (gateway, materializer, api, approvals-worker)
 * and is the operator's and SOC analyst's tool (tokens, sessions, replay, sql, policy).
 */
import { Command } from 'commander';
import { reportError } from './lib/context.js';
import { commandsFor } from './lib/commands/index.js';

const program = new Command('chaperone')
  .description('Chaperone: the access gateway for AI agents and CI/CD jobs')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (str, write) => write(`chaperone: ${str.replace(/^error: /, '')}`) });

for (const command of await commandsFor(process.argv.slice(2))) command.register(program);

program.parseAsync(process.argv).catch(reportError);
