import { objectTypeName, statementType } from './sql-type.js';
import type { SqlStatement, SqlWrite } from './types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const WRITE_NODES: Record<string, SqlWrite['type']> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};

/** Object types whose DROP names relations (the names are a List of String, not RangeVars). */
const DROPPED_RELATIONS = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'INDEX', 'SEQUENCE', 'FOREIGN TABLE']);

interface Found {
  tables: { name: string; location: number }[];
  functions: { name: string; location: number }[];
  ctes: Set<string>;
  writes: SqlWrite[];
}

/** RangeVar appears both wrapped ({RangeVar: …}) and bare in typed fields (DeleteStmt.relation). */
function asRangeVar(v: Obj): string | undefined {
  if (typeof v.relname !== 'string' || !('relpersistence' in v)) return undefined;
  return [v.catalogname, v.schemaname, v.relname].filter((p): p is string => typeof p === 'string' && p !== '').join('.');
}

function dottedName(items: unknown): string {
  if (!Array.isArray(items)) return '';
  return items.map((i) => (isObj(i) && isObj(i.String) ? String(i.String.sval) : '')).filter((s) => s !== '').join('.');
}

/** A WHERE that references no column (true, 1=1, now() > 0) restricts nothing row-specific. */
function restricts(where: unknown): boolean {
  if (where === undefined) return false;
  let found = false;
  const visit = (v: unknown): void => {
    if (found) return;
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      if ('ColumnRef' in v || 'CurrentOfExpr' in v) found = true;
      else Object.values(v).forEach(visit);
    }
  };
  visit(where);
  return found;
}

function explainAnalyzes(explain: Obj): boolean {
  const options = Array.isArray(explain.options) ? explain.options : [];
  return options.some((o) => {
    const d = isObj(o) && isObj(o.DefElem) ? o.DefElem : undefined;
    if (d?.defname !== 'analyze') return false;
    // EXPLAIN (ANALYZE false) does not run the statement.
    const arg = isObj(d.arg) ? d.arg : undefined;
    const val = arg && isObj(arg.Boolean) ? arg.Boolean.boolval : arg && isObj(arg.String) ? arg.String.sval : undefined;
    return val === undefined || val === true || val === 'true' || val === 'on';
  });
}

/**
 * Collects relations, called functions, CTE names and data-modifying operations. `executes` is
 * false under a plain EXPLAIN, whose statement is planned but never run.
 */
function walk(v: unknown, found: Found, executes: boolean): void {
  if (Array.isArray(v)) {
    for (const x of v) walk(x, found, executes);
    return;
  }
  if (!isObj(v)) return;
  const table = asRangeVar(v);
  if (table !== undefined) found.tables.push({ name: table, location: typeof v.location === 'number' ? v.location : 0 });
  for (const [key, child] of Object.entries(v)) {
    if (!isObj(child)) {
      walk(child, found, executes);
      continue;
    }
    const write = WRITE_NODES[key];
    if (write && executes) {
      const target = isObj(child.relation) ? asRangeVar(child.relation) : undefined;
      const hasWhere = write === 'UPDATE' || write === 'DELETE' ? restricts(child.whereClause) : null;
      if (target !== undefined) found.writes.push({ type: write, table: target, hasWhere });
    }
    if (key === 'FuncCall') {
      const name = dottedName(child.funcname);
      if (name) found.functions.push({ name, location: typeof child.location === 'number' ? child.location : 0 });
    } else if (key === 'CommonTableExpr' && typeof child.ctename === 'string') {
      found.ctes.add(child.ctename);
    }
    const childExecutes = key === 'ExplainStmt' ? executes && explainAnalyzes(child) : executes;
    walk(child, found, childExecutes);
  }
}

function droppedRelations(nodeName: string, body: Obj): string[] {
  if (nodeName !== 'DropStmt' || !DROPPED_RELATIONS.has(objectTypeName(body.removeType))) return [];
  const objects = Array.isArray(body.objects) ? body.objects : [];
  return objects.map((o) => (isObj(o) && isObj(o.List) ? dottedName(o.List.items) : '')).filter((n) => n !== '');
}

/** The tree's key order is not the text's; locations are. */
function inSourceOrder(items: { name: string; location: number }[]): string[] {
  return items.sort((a, b) => a.location - b.location).map((i) => i.name);
}

/** Turns one raw statement node (`{ DeleteStmt: {...} }`) and its text into what the policy sees. */
export function analyzeStatement(stmt: Obj, text: string): SqlStatement {
  const [nodeName, rawBody] = Object.entries(stmt)[0] ?? ['Unknown', {}];
  const body = isObj(rawBody) ? rawBody : {};
  const found: Found = { tables: [], functions: [], ctes: new Set(), writes: [] };
  walk(stmt, found, true);
  const names = inSourceOrder(found.tables).filter((n) => n.includes('.') || !found.ctes.has(n));
  const tables = [...new Set([...names, ...droppedRelations(nodeName, body)])];
  const whereApplies = nodeName === 'SelectStmt' || nodeName === 'UpdateStmt' || nodeName === 'DeleteStmt';
  return {
    text,
    type: statementType(nodeName, body),
    tables,
    hasWhere: whereApplies ? restricts(body.whereClause) : null,
    functions: [...new Set(inSourceOrder(found.functions))],
    writes: found.writes,
  };
}
