/**
 * CPU of encoding one Kafka produce request (issue #12): kafkajs' own nested encoders against the
 * gateway's one-pass encoder (services/gateway/src/lib/sinks/kafka/produce-encoder.ts), on the
 * same requests, alternating. No broker needed: it times `request.encode()` alone, with
 * process.cpuUsage() so a busy neighbour inflates it less than wall time.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/produce-encoding.ts [--records 1,8,32] [--bytes 600] [--json]
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { kafkaProduceEncoding } from '@chaperone/gateway';
import { wholeNumbers } from './bulk-options.js';
import { BenchError } from './errors.js';

const HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/produce-encoding.ts [options]

Times the encoding of one Kafka produce request (one partition, --records records of --bytes
each, string keys as the gateway's session ids) with kafkajs' own encoder and with the gateway's
one-pass encoder, alternating, and prints CPU µs per request and per record. Needs no broker.

Options:
  --records <list>   records per request (default 1,8,32,256)
  --bytes <n>        value size of a record (default 600)
  --requests <n>     requests encoded per case and round (default 4000)
  --rounds <n>       alternate the two encoders this many times (default 3)
  --json             print the figures as JSON on stdout
  -h, --help         this text`;

type Factory = ((args: object) => { encode: () => Promise<unknown> }) & { fast?: boolean; kafkajs?: Factory };

interface Row {
  encoder: 'kafkajs' | 'one-pass';
  records: number;
  bytes: number;
  usPerRequest: number;
  usPerRecord: number;
}

async function cpuPerRequest(factory: Factory, args: object, requests: number): Promise<number> {
  for (let i = 0; i < Math.min(500, requests); i++) await factory(args).encode();
  const t0 = process.cpuUsage();
  for (let i = 0; i < requests; i++) await factory(args).encode();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / requests;
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      options: {
        records: { type: 'string', default: '1,8,32,256' },
        bytes: { type: 'string', default: '600' },
        requests: { type: 'string', default: '4000' },
        rounds: { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new BenchError('BAD_ARGS', `${(err as Error).message}; see --help`);
  }
  if (v.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const records = wholeNumbers('records', v.records);
  const [bytes, requests, rounds] = [v.bytes, v.requests, v.rounds].map((s, i) => wholeNumbers(['bytes', 'requests', 'rounds'][i]!, s)[0]!);
  if (kafkaProduceEncoding !== 'one-pass') throw new BenchError('SETUP_FAILED', `the gateway's one-pass encoder is not installed in this process (${kafkaProduceEncoding}); see the gateway's start log`);
  const require = createRequire(import.meta.url);
  const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
  const onePass = require(`${dir}src/protocol/requests/produce/v3/request.js`) as Factory;
  const Long = require(`${dir}src/utils/long.js`) as { fromInt(n: number): unknown };
  const kafkajs = onePass.kafkajs!;
  const rows: Row[] = [];
  for (let round = 1; round <= rounds!; round++) {
    for (const n of records) {
      const messages = Array.from({ length: n }, (_, i) => ({ key: `5f0c${i}-session-${i}`, value: randomBytes(bytes!) }));
      const args = { acks: -1, timeout: 30_000, producerId: Long.fromInt(1000), producerEpoch: 0, topicData: [{ topic: 'chaperone.events', partitions: [{ partition: 0, firstSequence: 0, messages }] }] };
      for (const [encoder, factory] of [['kafkajs', kafkajs], ['one-pass', onePass]] as const) {
        const us = await cpuPerRequest(factory, args, requests!);
        rows.push({ encoder, records: n, bytes: bytes!, usPerRequest: us, usPerRecord: us / n });
        process.stderr.write(`round ${round} ${encoder.padEnd(8)} ${String(n).padStart(4)} records × ${bytes} B: ${us.toFixed(1)} µs CPU/request, ${(us / n).toFixed(2)} µs/record (load ${loadavg()[0]!.toFixed(1)})\n`);
      }
    }
  }
  const best = (e: Row['encoder'], n: number): number => Math.min(...rows.filter((r) => r.encoder === e && r.records === n).map((r) => r.usPerRequest));
  for (const n of records) process.stderr.write(`${String(n).padStart(4)} records: one-pass ${best('one-pass', n).toFixed(1)} µs vs kafkajs ${best('kafkajs', n).toFixed(1)} µs per request (best of ${rounds}), ${(best('kafkajs', n) / best('one-pass', n)).toFixed(1)}× less CPU\n`);
  if (v.json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), bytes, requests, rounds, loadavg: loadavg()[0], rows })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`produce-encoding: ${err instanceof BenchError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
