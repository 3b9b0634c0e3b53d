import type { Command } from 'commander';
import { formatMicros } from '@chaperone/api/client';
import { printJson } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

/** Longer than the API's own wait for the end to be stored, so its answer (or its reason) arrives. */
const END_TIMEOUT_MS = 30_000;

/** Registers `chaperone sessions end` under `sessions`. */
export function registerEnd(sessions: Command): void {
  withApi(
    sessions
      .command('end')
      .description(
        'End an open session on whichever gateway node holds it (admin): its agent is told, and the recording ends with reason ended-by-admin and "ended by <you>: <reason>"',
      )
      .argument('<session-id>')
      .option('--reason <text>', 'why (recorded in the session and the logs)', '')
      .option('--json', 'print the ended session as JSON')
      .addHelpText('after', '\nExamples:\n  chaperone sessions end 6f1c…-… --reason "token leaked in a prompt"\n  chaperone sessions ls --state open   # find open sessions first'),
  ).action(async (id: string, opts: ApiOptions & { reason: string; json?: boolean }) => {
    const s = await withApiClient(opts, (c) => c.endSession(id, opts.reason), { timeoutMs: END_TIMEOUT_MS });
    if (opts.json) return printJson(s);
    process.stdout.write(`session ${s.sessionId} ended ${formatMicros(s.endedMicros)} on ${s.nodeId} (${s.endReason}${s.endError ? `: ${s.endError}` : ''})\n`);
  });
}
