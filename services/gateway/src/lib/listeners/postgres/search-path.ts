/**
 * Targets also in their schema-qualified form, so a SOC finds `orders` and `public.orders` as one
 * (schemas/clickhouse/README.md, `qualified_targets`). An unqualified name takes the first schema
 * of the `search_path` the session set, else `public`, as PostgreSQL resolves a table created
 * there; a name that exists only in a later schema of the path is not looked up (the gateway
 * does not query the catalog).
 * @see https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH
 */

/** The schema unqualified names resolve to when the session did not set a search_path. */
export const DEFAULT_SCHEMA = 'public';

const SET_PATH = /^\s*set\s+(?:session\s+)?search_path\s*(?:=|\bto\b)\s*([\s\S]*?)\s*;?\s*$/i;
const RESET_PATH = /^\s*reset\s+search_path\s*;?\s*$/i;
/** Entries that name no schema a table is created in: the role's own ("$user"), the catalog, temporary schemas. */
const SKIPPED = /^(\$user|pg_catalog|pg_temp(_\d+)?)$/i;

/** An identifier as PostgreSQL reads it: "Quoted" keeps its case (and "" is a quote), an unquoted one folds to lower case. */
function identifier(raw: string): string {
  const t = raw.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/""/g, '"');
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  return t.toLowerCase();
}

/**
 * What a statement does to the session's search path: the first schema tables resolve to (a
 * string), back to the default (null: `RESET`, `SET … TO DEFAULT`, a path of only skipped
 * entries), or nothing (undefined: not such a statement; `SET LOCAL` lasts a transaction only).
 */
export function searchPathSchema(statement: string): string | null | undefined {
  if (RESET_PATH.test(statement)) return null;
  const m = SET_PATH.exec(statement);
  if (!m) return undefined;
  const value = m[1]!;
  if (/^default$/i.test(value)) return null;
  for (const entry of value.split(',')) {
    const name = identifier(entry);
    if (name !== '' && !SKIPPED.test(name)) return name;
  }
  return null;
}

/** Each target schema-qualified: as written when it names its schema, else in `schema`. */
export function qualifyTargets(targets: readonly string[], schema: string = DEFAULT_SCHEMA): string[] {
  return targets.map((t) => (t.includes('.') ? t : `${schema}.${t}`));
}
