/**
 * Microbenchmark of the hot paths: framing a stream of DataRow messages (as a socket delivers
 * them, in 64 KiB chunks that cut messages anywhere) and encoding DataRows (masking rewrites).
 * Run: node --import tsx src/lib/protocols/postgres/codec.bench.ts
 */
import { decodeDataRow, encodeDataRow } from './index.js';
import { MessageReader } from './reader.js';

const ROWS = 200_000;
const CHUNK = 64 * 1024;

function report(what: string, bytes: number, messages: number, ms: number): void {
  const mbs = bytes / 1e6 / (ms / 1e3);
  const mps = messages / (ms / 1e3);
  console.log(`${what.padEnd(34)} ${mbs.toFixed(0).padStart(6)} MB/s ${(mps / 1e6).toFixed(2).padStart(6)} M msg/s  (${ms.toFixed(0)} ms)`);
}

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const row = ['42', 'alice@example.com', null, 'a somewhat longer text value with some content', '2024-01-01 00:00:00+00'];
const stream = Buffer.concat(Array.from({ length: ROWS }, (_, i) => encodeDataRow([String(i), ...row])));
const chunks: Buffer[] = [];
for (let i = 0; i < stream.length; i += CHUNK) chunks.push(stream.subarray(i, i + CHUNK));

function readStream(decode: boolean): number {
  const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
  let n = 0;
  for (const chunk of chunks) {
    const { messages, error } = reader.push(chunk);
    if (error) throw error;
    if (decode) for (const m of messages) decodeDataRow(m.payload);
    n += messages.length;
  }
  return n;
}

const values = [Buffer.from('42'), Buffer.from('alice@example.com'), null, Buffer.from('x'.repeat(48)), '***masked***'];
function encodeRows(): void {
  for (let i = 0; i < ROWS; i++) encodeDataRow(values);
}
const encodedBytes = encodeDataRow(values).length * ROWS;

for (let round = 0; round < 3; round++) {
  // the first round warms the JIT; the last one is the one to quote
  console.log(`round ${round + 1}`);
  let n = 0;
  report('read DataRow stream (frame only)', stream.length, ROWS, time(() => (n = readStream(false))));
  if (n !== ROWS) throw new Error(`read ${n} of ${ROWS} rows`);
  report('read + decodeDataRow', stream.length, ROWS, time(() => readStream(true)));
  report('encodeDataRow', encodedBytes, ROWS, time(encodeRows));
}
