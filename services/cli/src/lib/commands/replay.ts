import type { Command } from 'commander';
import { buildTranscript, formatTranscript, type ReplayEvent } from '@chaperone/api';
import { printJson } from '../context.js';
import { positiveInt, withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

/** Registers `chaperone replay <session-id>`. */
export function register(program: Command): void {
  withApi(
    program
      .command('replay')
      .summary('replay a recorded session as a readable transcript')
      .description(
        'Replay a recorded session as a transcript: who (identity, connection, node, times), then every command with ' +
          'its policy decision and, for PostgreSQL, its result rows or error, as recorded. Rebuilt from the stored Avro ' +
          'events (run `chaperone verify` to check they are untampered).',
      )
      .argument('<session-id>')
      .option('--json', 'print the transcript as JSON')
      .option('--events', 'print the raw events instead, one JSON object per line (payload and avro as hex)')
      .option('--max-rows <n>', 'result rows shown per command', positiveInt('--max-rows'), 50),
  ).action(async (id: string, opts: ApiOptions & { json?: boolean; events?: boolean; maxRows: number }) => {
    await withApiClient(opts, async (client) => {
      const events: ReplayEvent[] = [];
      for await (const e of client.replay(id)) {
        if (opts.events) {
          const { payload, avro, ...rest } = e;
          process.stdout.write(`${JSON.stringify({ ...rest, payload: Buffer.from(payload).toString('hex'), avro: Buffer.from(avro).toString('hex') })}\n`);
        } else events.push(e);
      }
      if (opts.events) return;
      const transcript = buildTranscript(events);
      if (opts.json) printJson(transcript);
      else process.stdout.write(formatTranscript(transcript, { maxRows: opts.maxRows }));
    });
  });
}
