import type { Command } from 'commander';
import { printTable, UserError } from '../context.js';
import { positiveInt, withApi, withApiClient, type ApiOptions } from '../grpc-client.js';
import { sqlCell } from '../sql-json.js';

/** RFC 4180 field: quoted when it holds a comma, quote or line break; NULL is an empty field. */
const csvField = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Registers `chaperone sql "<query>"`. */
export function register(program: Command): void {
  withApi(
    program
      .command('sql')
      .summary('run read-only SQL over the recordings')
      .description(
        'Run read-only SQL over the recording store (ClickHouse; tables events, commands, sessions, commands_by_subject, ' +
          'commands_per_day, session_seals — schema and example queries in ' +
          'schemas/clickhouse/README.md; use FINAL to see each row once). Runs as the read-only ClickHouse user; writes are refused.',
      )
      .argument('<query>', 'a SELECT (or SHOW / DESCRIBE) statement')
      .option('--format <format>', 'table, json or csv', 'table')
      .option('--max-rows <n>', 'stop after this many rows', positiveInt('--max-rows'), 10_000),
  ).action(async (query: string, opts: ApiOptions & { format: string; maxRows: number }) => {
    if (!['table', 'json', 'csv'].includes(opts.format)) throw new UserError(`--format: expected table, json or csv, got "${opts.format}"`);
    const r = await withApiClient(opts, (c) => c.query(query, opts.maxRows));
    const names = r.columns.map((c) => c.name);
    if (opts.format === 'json') {
      const rows = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, sqlCell(c.type, row[i] ?? null)])));
      // Written as is: the keys are the query's own column names, never renamed.
      process.stdout.write(`${JSON.stringify({ columns: r.columns, rows, truncated: r.truncated }, null, 2)}\n`);
    }
    else if (opts.format === 'csv') {
      process.stdout.write(`${names.map(csvField).join(',')}\n`);
      for (const row of r.rows) process.stdout.write(`${row.map(csvField).join(',')}\n`);
    } else printTable(r.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? 'NULL']))), names);
    if (r.truncated) process.stderr.write(`chaperone: output stopped at ${opts.maxRows} rows (--max-rows); add a LIMIT or raise --max-rows\n`);
  });
}
