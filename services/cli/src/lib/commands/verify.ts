import type { Command } from 'commander';
import { printJson } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

/** Registers `chaperone verify <session-id>`. */
export function register(program: Command): void {
  withApi(
    program
      .command('verify')
      .summary('verify a recorded session: hash chain, columns and seal')
      .description(
        'Verify a recorded session: recompute its hash chain from the stored Avro events, check every stored column ' +
          'against them and that no event is missing, and check the Ed25519 seal with the node keys in ' +
          'recording.trustedNodeKeys. A session that never ended (its gateway died) is incomplete; the materializer ' +
          'seals it after materializer.idleTimeout, and that seal pins its last event, so a deleted tail is found too. ' +
          'Exit code 0 when intact; 1 when incomplete (open, unsealed, cut off); 2 when broken (tampered or missing ' +
          'events: the first bad seq is named); 3 when unknown.',
      )
      .argument('<session-id>')
      .option('--json', 'print the result as JSON'),
  ).action(async (id: string, opts: ApiOptions & { json?: boolean }) => {
    const r = await withApiClient(opts, (c) => c.verify(id));
    if (opts.json) printJson(r);
    else {
      const at = r.firstBadSeq !== undefined ? ` at seq ${r.firstBadSeq}` : '';
      // The words of `sessions show`: head hash = the newest event's, sealed hash = what the seal signs (the event before SessionEnded).
      const sealed = r.sealedHash ? `\n  sealed hash ${r.sealedHash}` : '';
      process.stdout.write(`${r.status}${at}: ${r.detail}\n  session ${r.sessionId}, ${r.events} events checked, head hash ${r.headHash}${sealed}\n`);
    }
    if (r.status === 'broken') process.exitCode = 2;
    else if (r.status !== 'intact') process.exitCode = 1;
  });
}
