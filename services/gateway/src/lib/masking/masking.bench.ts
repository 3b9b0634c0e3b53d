/**
 * Masking throughput (MB/s, one core) with every detector on, on deterministic corpora:
 *   node --conditions=development --import tsx src/lib/masking/masking.bench.ts
 * - log text: prose lines with numbers and the odd address, no secrets;
 * - JSON API response: records with ids, UUIDs, SHA-1s, e-mails, timestamps, amounts, URLs,
 *   a secret every 50 records (the adversarial case: every record has several candidates);
 * - the same JSON through StreamMasker in 64 KiB chunks;
 * - PostgreSQL DataRows (5 text columns, one e-mail each) through PgResultMasker.
 */
import { createHash } from 'node:crypto';
import { encodeDataRow, encodeRowDescription, MessageReader } from '../protocols/postgres/index.js';
import { Masker, PgResultMasker, StreamMasker } from './index.js';

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const WORDS = 'the order was shipped to the customer after payment cleared and the invoice status moved from pending to paid while the warehouse updated stock levels for region eu-west'.split(' ');
const prose = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ');
const hex = (i: number, n: number) => createHash('sha1').update(String(i)).digest('hex').slice(0, n);

function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `2024-03-01T12:${String(i % 60).padStart(2, '0')}:07.123Z INFO worker-${i % 8} request ${i} took ${Math.floor(rnd() * 900)} ms: ${prose(14)}${i % 40 === 0 ? ' contact ops@example.com' : ''}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

function jsonResponse(bytes: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const rec: Record<string, unknown> = {
      id: 100000 + i,
      uuid: `${hex(i, 8)}-${hex(i + 1, 4)}-4${hex(i + 2, 3)}-a${hex(i + 3, 3)}-${hex(i + 4, 12)}`,
      commit: hex(i, 40),
      name: prose(2),
      email: `user${i}@example.com`,
      created_at: '2024-03-01T12:34:56.789Z',
      amount: Math.floor(rnd() * 100000) / 100,
      url: `https://api.example.com/v1/orders/${i}?page=2`,
      note: prose(20),
    };
    if (i % 50 === 7) rec.config = `aws_access_key_id=AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`;
    const s = JSON.stringify(rec);
    parts.push(s);
    size += s.length + 1;
  }
  return Buffer.from(`[${parts.join(',')}]`);
}

/**
 * Median of 5 runs, as MB per second of CPU time (process.cpuUsage: immune to other processes
 * taking the core, which wall time is not on a shared machine) and of wall time.
 */
function measure(label: string, bytes: number, fn: () => void): void {
  fn(); // warm-up
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
  const mbs = (ms: number) => (bytes / 1e6 / (ms / 1e3)).toFixed(0).padStart(6);
  process.stdout.write(`${label.padEnd(36)} ${mbs(median(cpu))} MB/s CPU  ${mbs(median(wall))} MB/s wall  (${(bytes / 1e6).toFixed(1)} MB)\n`);
}

const masker = new Masker();
const log = logText(16e6);
const json = jsonResponse(16e6);
const masked = masker.maskBytes(json);
process.stdout.write(`corpora: log ${(log.length / 1e6).toFixed(1)} MB, JSON ${(json.length / 1e6).toFixed(1)} MB with ${masked.notes.reduce((n, x) => n + x.count, 0)} masked spans\n`);

measure('text: log lines', log.length, () => masker.maskBytes(log));
measure('text: JSON API response', json.length, () => masker.maskBytes(json));
measure('stream: JSON in 64 KiB chunks', json.length, () => {
  const s = new StreamMasker(masker);
  for (let i = 0; i < json.length; i += 65536) s.push(json.subarray(i, i + 65536));
  s.end();
});
const secretsOnly = new Masker({ detectors: ['aws-access-key-id', 'aws-secret-access-key', 'private-key', 'jwt', 'github-token', 'url-password', 'secret-assignment'] });
measure('text: JSON, secrets only', json.length, () => secretsOnly.maskBytes(json));

const ROWS = 200_000;
const desc = encodeRowDescription(['id', 'name', 'email', 'note', 'created_at'].map((name) => ({ name })));
const rows = Buffer.concat(Array.from({ length: ROWS }, (_, i) => encodeDataRow([String(i), prose(2), `user${i}@example.com`, prose(8), '2024-03-01 12:34:56+00'])));
const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
const messages = reader.push(rows).messages;
measure(`postgres: ${ROWS / 1000}k DataRows`, rows.length, () => {
  const pg = new PgResultMasker(masker);
  pg.onRowDescription(desc.subarray(5));
  for (const m of messages) pg.maskDataRow(m.frame, m.payload);
});
