#!/usr/bin/env node
/**
 * The `chaperone` command: runs the services (gateway, materializer, api, approvals-worker)
 * and is the operator's and SOC analyst's tool (tokens, sessions, replay, sql, policy).
 */
import { reportError } from './lib/context.js';
import { commandsFor } from './lib/commands/index.js';
import { createProgram } from './lib/program.js';

const program = createProgram();

for (const command of await commandsFor(process.argv.slice(2))) command.register(program);

program.parseAsync(process.argv).catch(reportError);
