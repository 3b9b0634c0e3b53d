import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clickhouseDir } from '@chaperone/schemas';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { str } from './sql.js';
import { CH_DUPLICATE_COLUMN, CH_TABLE_ALREADY_EXISTS, CH_UNKNOWN_TABLE } from './translate.js';

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

/** Statements of migrations, recorded one by one as they run (see migrate). */
const STEPS = 'schema_migration_steps';

/** A single-pair `RENAME TABLE a TO b`, the only form a migration's table swap may take. */
const SINGLE_RENAME = /^RENAME\s+TABLE\s+\w+\s+TO\s+\w+$/i;

/**
 * Errors that mean "this statement already ran": a migration cut off after a statement but before
 * its step was recorded runs it again. 18.16 has no `ADD COLUMN IF NOT EXISTS`, so an ADD COLUMN
 * that finds its column counts as applied; a single RENAME whose source is gone or whose target is
 * there did its work before (004's swap; the migration checks the outcome itself before it drops
 * anything).
 */
function alreadyApplied(statement: string, code: number | undefined): boolean {
  if (code === CH_DUPLICATE_COLUMN) return /^ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN\s/i.test(statement);
  if (code === CH_UNKNOWN_TABLE || code === CH_TABLE_ALREADY_EXISTS) return SINGLE_RENAME.test(statement);
  return false;
}

/** Runs one statement of a migration, inside the store's database. */
async function applyStatement(exec: Executor, m: Migration, step: number): Promise<void> {
  const statement = m.statements[step]!;
  try {
    await exec.command(statement, { inDatabase: true });
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if (alreadyApplied(statement, err.engineCode)) return;
    // Which statement failed, so a refusal (004's own check, a memory limit) says where it stopped.
    const failed = new StoreError(err.code, `schemas/clickhouse/${m.name}, statement ${step + 1}: ${err.message}`, { cause: err });
    if (err.engineCode !== undefined) failed.engineCode = err.engineCode;
    throw failed;
  }
}

/** Whether a statement of this version of the migration ran to completion (recorded by recordStep). */
async function stepDone(exec: Executor, m: Migration, step: number): Promise<boolean> {
  const [r] = await exec.select<{ n: string }>(
    `SELECT count() AS n FROM ${exec.database}.${STEPS} WHERE version = ${str(m.version)} AND step = ${step} AND checksum = ${str(m.checksum)}`,
  );
  return Number(r?.n ?? 0) > 0;
}

const recordStep = (exec: Executor, m: Migration, step: number): Promise<void> =>
  exec.command(`INSERT INTO ${exec.database}.${STEPS} (version, step, checksum) VALUES (${str(m.version)}, ${step}, ${str(m.checksum)})`);

/**
 * Applies the migrations not yet recorded in `schema_migrations`. Each statement is recorded in
 * `schema_migration_steps` once it ran, and skipped when the migration runs again, so a migration
 * cut off half-way (a crash, a timeout) resumes where it stopped: a table swap is not done twice.
 * The one statement that may run twice — the one cut off, or the one that ran but was not
 * recorded — must be re-runnable on its own (CREATE … IF NOT EXISTS, DROP … IF EXISTS, an INSERT
 * whose copies the ReplacingMergeTree collapses, see alreadyApplied). Steps are read again before
 * every statement, so processes migrating at once skip what another finished. A recorded migration
 * whose file changed is an error: applied DDL is history, changes go into a new file.
 */
export async function migrate(exec: Executor, migrations: Migration[] = loadMigrations()): Promise<MigrationReport> {
  const db = exec.database;
  await exec.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await exec.command(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version String, name String, checksum String, applied_at DateTime DEFAULT now()) ` +
      'ENGINE = ReplacingMergeTree ORDER BY version',
  );
  await exec.command(
    `CREATE TABLE IF NOT EXISTS ${db}.${STEPS} (version String, step UInt32, checksum String, applied_at DateTime DEFAULT now()) ` +
      'ENGINE = ReplacingMergeTree ORDER BY (version, step, checksum)',
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
    for (let step = 0; step < m.statements.length; step++) {
      if (await stepDone(exec, m, step)) continue;
      await applyStatement(exec, m, step);
      await recordStep(exec, m, step);
    }
    await exec.command(`INSERT INTO ${db}.schema_migrations (version, name, checksum) VALUES (${str(m.version)}, ${str(m.name)}, ${str(m.checksum)})`);
    report.applied.push(m.name);
  }
  return report;
}
