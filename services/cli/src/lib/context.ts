import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '@chaperone/config';
import { jsonStyle } from '@chaperone/api/client';

/** Adds the option every command that reads configuration takes. */
export function withConfig(cmd: Command): Command {
  return cmd.option('-c, --config <file>', 'configuration file (default: $CHAPERONE_CONFIG or ./chaperone.yaml)');
}

/** Loads the configuration named by --config (or its defaults). */
export function configFrom(opts: { config?: string }, overrides: { nodeId?: string } = {}): Config {
  return loadConfig(opts.config, overrides.nodeId ? { nodeId: overrides.nodeId } : {});
}

/** An error whose message is meant for the user as it is (no stack trace). */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Prints an error the way a user can act on it, and sets the exit code. */
export function reportError(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`chaperone: ${err.message}\n`);
    process.exitCode = 2;
  } else if (err instanceof UserError) {
    process.stderr.write(`chaperone: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    const e = err as Error;
    process.stderr.write(`chaperone: ${e?.message ?? String(err)}\n`);
    if (process.env.CHAPERONE_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    process.exitCode = 1;
  }
}

/** Writes a value as pretty JSON on stdout (for `--json`). */
/** Prints `value` as JSON in the CLI's one style (README "JSON output"; jsonStyle of @chaperone/api/client). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(jsonStyle(value), null, 2)}\n`);
}

/** Renders rows as an aligned text table. */
export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(no rows)\n');
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    // One line per row: a multi-line value (an SQL statement) shows its line breaks as ⏎.
    if (typeof v === 'string') return v.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
    return JSON.stringify(v);
  };
  const widths = cols.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${line(cols)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}
