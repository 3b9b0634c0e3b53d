import { sha256Hex } from '../../hash.js';
import type { Connection } from '@chaperone/config';
import type { AgentIdentity } from '@chaperone/identity';
import { parseSql, type SqlStatement } from '../../commands/index.js';
import { effectiveRules, PgSessionMasking, unionRules, type MaskRules } from '../../masking/index.js';
import type { PolicyDecision, PolicyInput, PolicyInputBase } from '../../policy/index.js';
import { decisionEvent, policyInputBase } from '../../policy/index.js';
import type { EventAppender } from './client-record.js';
import { DEFAULT_SCHEMA, qualifyTargets, searchPathSchema } from './search-path.js';

/** What the policy evaluation needs besides the command itself. */
export interface DecisionContext {
  sessionId: string;
  clientAddress: string;
  nodeId: string;
  identity: AgentIdentity;
  connection: Connection;
  policy: { evaluate(input: PolicyInput): PolicyDecision };
  /** Masks what the upstream returns; created by the first decideSql, told of every execution by recordVerdict. */
  masking?: PgSessionMasking;
  /** The session's part of every policy input, built (and frozen) by the first decision. */
  inputBase?: PolicyInputBase;
  /** The first schema of the search_path the session set (search-path.ts); unset: `public`. */
  searchSchema?: string;
}

/** The identity, connection and session parts of the session's policy inputs. */
function inputBase(ctx: DecisionContext): PolicyInputBase {
  return (ctx.inputBase ??= policyInputBase(ctx.identity, ctx.connection, { id: ctx.sessionId, clientAddress: ctx.clientAddress, node: ctx.nodeId }));
}

/** One statement of a SQL string with the policy's decision on it. */
export interface DecidedStatement {
  text: string;
  action: string;
  targets: string[];
  /** `targets` schema-qualified (search-path.ts), recorded in the Command's details as `qualifiedTargets`. */
  qualifiedTargets: string[];
  details: SqlStatement | { error: string };
  decision: PolicyDecision;
}

/** A SQL string decided statement by statement; `result` is the strictest of them. */
export interface Verdict {
  result: PolicyDecision['result'];
  reasons: string[];
  statements: DecidedStatement[];
  /** What to mask in the results: every statement's mask rules plus the secret detectors. */
  mask: MaskRules;
  /** The session's result masking, told about each execution of this verdict. */
  masking: PgSessionMasking;
}

const SEVERITY = { allow: 0, approval: 1, deny: 2 } as const;
/** Bound parameter values longer than this are stored truncated in Command events. */
const MAX_PARAM_CHARS = 4096;


/**
 * Parses one SQL string (a simple Query or a Parse) with the real PostgreSQL parser and asks
 * the policy about each statement. A multi-statement string runs only if every statement in
 * it is allowed; unparseable SQL is one statement the policy sees with `sql.error`.
 */
export function decideSql(sql: string, ctx: DecisionContext): Verdict {
  const parsed = parseSql(sql);
  const stmts: (SqlStatement | null)[] = parsed.statements.length > 0 ? parsed.statements : parsed.error !== undefined ? [null] : [];
  ctx.masking ??= new PgSessionMasking();
  const verdict: Verdict = { result: 'allow', reasons: [], statements: [], mask: effectiveRules(undefined), masking: ctx.masking };
  let mask: MaskRules | undefined;
  let schema = ctx.searchSchema;
  for (const stmt of stmts) {
    const text = stmt?.text ?? sql;
    const action = stmt?.type ?? 'UNPARSEABLE';
    const targets = stmt?.tables ?? [];
    const qualifiedTargets = qualifyTargets(targets, schema ?? DEFAULT_SCHEMA);
    const path = stmt ? searchPathSchema(text) : undefined;
    if (path !== undefined) schema = path ?? undefined;
    const { identity, connection, session } = inputBase(ctx);
    const decision = ctx.policy.evaluate({
      identity,
      connection,
      session,
      command: { protocol: 'postgres', action, text, targets, sql: { statements: stmt ? [stmt] : [], ...(parsed.error !== undefined ? { error: parsed.error } : {}) } },
    });
    verdict.statements.push({ text, action, targets, qualifiedTargets, details: stmt ?? { error: parsed.error ?? 'unparseable' }, decision });
    const rules = effectiveRules(decision.mask);
    mask = mask ? unionRules(mask, rules) : rules;
    if (SEVERITY[decision.result] > SEVERITY[verdict.result]) {
      verdict.result = decision.result;
      verdict.reasons = decision.reasons;
    }
  }
  if (mask) verdict.mask = mask;
  // The path changes for what follows once the statement setting it goes upstream (a refused one never does).
  if (verdict.result !== 'deny') ctx.searchSchema = schema;
  return verdict;
}

/**
 * A fastpath FunctionCall ('F') runs a function by OID outside SQL, so the SQL parser never
 * sees it (libpq's large-object API uses it). It goes to the policy as its own action, so a
 * pack can allow it where large objects are used and refuse it elsewhere.
 */
export function decideFunctionCall(oid: number, argCount: number, ctx: DecisionContext): Verdict {
  const text = `FUNCTION CALL ${oid}`;
  const action = 'FUNCTION CALL';
  ctx.masking ??= new PgSessionMasking();
  const { identity, connection, session } = inputBase(ctx);
  const decision = ctx.policy.evaluate({
    identity,
    connection,
    session,
    command: { protocol: 'postgres', action, text, targets: [], sql: { statements: [] }, functionCall: { oid, argCount } },
  });
  return {
    result: decision.result,
    reasons: decision.reasons,
    statements: [{ text, action, targets: [], qualifiedTargets: [], details: { functionCall: { oid, argCount } } as unknown as SqlStatement, decision }],
    mask: effectiveRules(decision.mask),
    masking: ctx.masking,
  };
}

/** Bound parameters as text for the record: text-format values as UTF-8, binary as \x hex. */
export function paramsForRecord(params: (Buffer | null)[], formats: number[]): (string | null)[] {
  return params.map((p, i) => {
    if (p === null) return null;
    const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
    const s = binary ? `\\x${p.toString('hex')}` : p.toString('utf8');
    return s.length > MAX_PARAM_CHARS ? `${s.slice(0, MAX_PARAM_CHARS)}…[${s.length} chars]` : s;
  });
}

/**
 * Records each statement of a verdict as a Command followed by its Decision. Called once per
 * execution: a simple Query, or a Bind of a prepared statement (with its parameter values).
 */
export function recordVerdict(verdict: Verdict, recorder: EventAppender, nextCommandId: () => number, params: (string | null)[] = []): void {
  // The results of this execution are masked with its decision's rules.
  verdict.masking.onExecution(verdict.mask);
  for (const s of verdict.statements) {
    const commandId = nextCommandId();
    recorder.append({
      type: 'Command',
      commandId,
      protocol: 'postgres',
      action: s.action,
      targets: s.targets,
      text: s.text,
      textSha256: sha256Hex(s.text),
      detailsJson: JSON.stringify({ ...s.details, qualifiedTargets: s.qualifiedTargets }),
      params,
    });
    recorder.append(decisionEvent(commandId, s.decision));
  }
}
