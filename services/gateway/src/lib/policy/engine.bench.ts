/**
 * Hot-path cost of one SQL command: parse + policy evaluation.
 *   policies/build.sh && node --conditions=development --import tsx src/lib/policy/engine.bench.ts [bundle]
 */
import { fileURLToPath } from 'node:url';
import { initSqlParser, sqlCommand } from '../commands/index.js';
import { PolicyEngine, type PolicyInput } from './index.js';

const bundle = process.argv[2] ?? fileURLToPath(new URL('../../../../../policies/build/bundle.tar.gz', import.meta.url));
const SQL = 'WITH recent AS (SELECT id FROM sales.orders WHERE created_at > now()) DELETE FROM public.orders o USING recent r WHERE o.id = r.id';
const N = 20_000;

await initSqlParser();
const engine = await PolicyEngine.load(bundle);
const input = (): PolicyInput => ({
  identity: { subject: 'agent:bench', issuer: 'chaperone', groups: ['agents'], claims: {} },
  connection: { name: 'orders', protocol: 'postgres', labels: { env: 'prod' } },
  session: { id: 'bench', clientAddress: '127.0.0.1:1', node: 'bench' },
  command: sqlCommand(SQL),
});
for (let i = 0; i < 2000; i++) engine.evaluate(input());

function time(label: string, fn: () => unknown): void {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  process.stdout.write(`${label.padEnd(22)} ${(Number(process.hrtime.bigint() - t0) / 1000 / N).toFixed(1)} µs/op\n`);
}

const fixed = input();
time('parseSql', () => sqlCommand(SQL));
time('evaluate', () => engine.evaluate(fixed));
time('parse + evaluate', () => engine.evaluate(input()));
