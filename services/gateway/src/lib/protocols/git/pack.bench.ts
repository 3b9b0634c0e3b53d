/**
 * Microbenchmark of the push analysis: a real push body (command list + pack of many commits)
 * parsed in 64 KiB chunks until its commits are known.
 * Run: node --conditions=development --import tsx src/lib/protocols/git/pack.bench.ts
 */
import { GitFixture } from './fixtures.js';
import { ReceivePackParser } from './receive-pack.js';

const g = new GitFixture();
const base = g.commit();
let tip = base;
for (let i = 0; i < 300; i++) tip = g.commit(`change ${i}\n\n${'body text '.repeat(20)}`, `file content ${i}\n${'x'.repeat(4000)}`);
const body = g.pushBody([[base, tip, 'refs/heads/main']], g.pack(tip, [base]));
g.remove();

const RUNS = 50;
const start = process.hrtime.bigint();
let commits = 0;
for (let r = 0; r < RUNS; r++) {
  const p = new ReceivePackParser();
  for (let i = 0; i < body.length && !p.push(body.subarray(i, i + 65536)); i += 65536);
  commits += p.end().pack?.commits.size ?? 0;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(`push analysis: ${((body.length * RUNS) / 1e6 / (ms / 1e3)).toFixed(0)} MB/s of push body, ${((commits / ms) * 1000).toFixed(0)} commits/s (${body.length} bytes, ${commits / RUNS} commits per push)`);
