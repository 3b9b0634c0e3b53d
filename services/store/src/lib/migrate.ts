import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clickhouseDir } from '@chaperone/schemas';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { str } from './sql.js';
import { CH_DUPLICATE_COLUMN } from './translate.js';

export interface Migration {
  version: string;
  name: string;
  checksum: string;
  statements: string[];
}

export interface MigrationReport {
  database: string;
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Splits a DDL file into statements at `;` outside quotes and comments (the HTTP interface
 * runs one statement per request). Comments are dropped.
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      cur += ch;
      if (ch === '\\') cur += text[++i] ?? '';
      else if (ch === quote) quote = undefined;
    } else if (ch === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      cur += '\n';
    } else if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else {
      if (ch === "'" || ch === '`' || ch === '"') quote = ch;
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The migrations shipped in schemas/clickhouse (`NNN_name.sql`), in order. */
export function loadMigrations(dir: string = clickhouseDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        version: file.slice(0, 3),
        name: file,
        checksum: createHash('sha256').update(text).digest('hex'),
        statements: splitStatements(text),
      };
    });
}

/**
 * Runs one DDL statement. 18.16 has no `ADD COLUMN IF NOT EXISTS`, so an ADD COLUMN that finds
 * its column (a migration cut off half-way, or run by two processes at once) counts as applied.
 */
async function applyStatement(exec: Executor, statement: string): Promise<void> {
  try {
    await exec.command(statement, { inDatabase: true });
  } catch (err) {
    if (err instanceof StoreError && err.engineCode === CH_DUPLICATE_COLUMN && /^ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN\s/i.test(statement)) return;
    throw err;
  }
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`. Idempotent and safe to run
 * from several processes at once: every statement is CREATE … IF NOT EXISTS, and the tracking
 * table is a ReplacingMergeTree keyed by version. A recorded migration whose file changed is an
 * error: applied DDL is history, changes go into a new file.
 */
export async function migrate(exec: Executor, migrations: Migration[] = loadMigrations()): Promise<MigrationReport> {
  const db = exec.database;
  await exec.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await exec.command(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version String, name String, checksum String, applied_at DateTime DEFAULT now()) ` +
      'ENGINE = ReplacingMergeTree ORDER BY version',
  );
  const done = new Map(
    (await exec.select<{ version: string; checksum: string }>(`SELECT version, checksum FROM ${db}.schema_migrations FINAL`)).map((r) => [r.version, r.checksum]),
  );
  const report: MigrationReport = { database: db, applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    const recorded = done.get(m.version);
    if (recorded !== undefined) {
      if (recorded !== m.checksum)
        throw new StoreError(
          'MIGRATION_CHANGED',
          `schemas/clickhouse/${m.name} changed after it was applied to database ${db}; put schema changes in a new numbered file`,
        );
      report.alreadyApplied.push(m.name);
      continue;
    }
    for (const statement of m.statements) await applyStatement(exec, statement);
    await exec.command(`INSERT INTO ${db}.schema_migrations (version, name, checksum) VALUES (${str(m.version)}, ${str(m.name)}, ${str(m.checksum)})`);
    report.applied.push(m.name);
  }
  return report;
}
