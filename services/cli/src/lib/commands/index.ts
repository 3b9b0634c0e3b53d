import type { Command } from 'commander';
import { register as gateway } from './gateway.js';
import { register as token } from './token.js';
import { register as materializer } from './materializer.js';
import { register as api } from './api.js';
import { register as sessions } from './sessions.js';
import { register as replay } from './replay.js';
import { register as sql } from './sql.js';
import { register as verify } from './verify.js';
import { register as policy } from './policy.js';
import { register as approvalsWorker } from './approvals-worker.js';
import { register as approvals } from './approvals.js';

/** Every subcommand, in the order `chaperone --help` lists them. */
export const commands: ((program: Command) => void)[] = [
  gateway,
  materializer,
  api,
  approvalsWorker,
  approvals,
  token,
  sessions,
  replay,
  sql,
  verify,
  policy,
];
