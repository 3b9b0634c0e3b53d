import { compileJsonPath, DETECTOR_IDS, type MaskRules } from '../masking/index.js';
import { InvalidDecisionError } from './errors.js';
import type { ApprovalRequirement, DecisionResult, PolicyInput } from './types.js';
import { errorMessage } from '@chaperone/observability';

const RESULTS: ReadonlySet<string> = new Set(['allow', 'deny', 'approval']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** A policy output checked by {@link parseDecision}. */
export interface ParsedDecision {
  result: DecisionResult;
  reasons: string[];
  approval?: ApprovalRequirement;
  mask?: MaskRules;
}

/**
 * Checks the policy output is a decision the gateway can act on. Anything else is an error the
 * engine turns into deny: an approval nobody can give, or a result we do not know, must not
 * let a command through.
 */
export function parseDecision(output: unknown): ParsedDecision {
  if (output === undefined) throw new InvalidDecisionError('the policy produced no decision (is chaperone/authz/decision defined for every input?)');
  if (!isObj(output)) throw new InvalidDecisionError(`the decision is not an object: ${JSON.stringify(output)}`);
  const { result, reasons } = output;
  if (typeof result !== 'string' || !RESULTS.has(result)) throw new InvalidDecisionError(`unknown decision result ${JSON.stringify(result)}`);
  if (!isStrings(reasons)) throw new InvalidDecisionError('decision "reasons" must be a list of strings');
  // Built without object spread, which costs microseconds on this per-command path.
  const decision: ParsedDecision = { result: result as DecisionResult, reasons };
  if (output.mask !== undefined) decision.mask = parseMask(output.mask);
  if (result !== 'approval') return decision;
  const a = output.approval;
  if (!isObj(a) || !isStrings(a.approverGroups) || a.approverGroups.length === 0) {
    throw new InvalidDecisionError('an approval decision needs approval.approverGroups (non-empty list of groups)');
  }
  const quorum = a.quorum ?? 1;
  if (typeof quorum !== 'number' || !Number.isInteger(quorum) || quorum < 1) throw new InvalidDecisionError('approval.quorum must be a positive integer');
  if (typeof a.ttlMs !== 'number' || !(a.ttlMs > 0)) throw new InvalidDecisionError('approval.ttlMs must be a positive number of milliseconds');
  decision.approval = { approverGroups: a.approverGroups, quorum, ttlMs: a.ttlMs };
  return decision;
}

/**
 * The decision's mask rules. A rule the gateway cannot apply (an unknown detector, a JSON path
 * it cannot read) makes the whole decision invalid, hence a deny: silently skipping it would
 * let through what the policy author meant to hide.
 */
function parseMask(m: unknown): MaskRules {
  if (!isObj(m)) throw new InvalidDecisionError('decision "mask" must be an object with columns, jsonPaths and detectors');
  const rules: MaskRules = {};
  for (const key of ['columns', 'jsonPaths', 'detectors'] as const) {
    const v = m[key];
    if (v === undefined) continue;
    if (!isStrings(v)) throw new InvalidDecisionError(`mask.${key} must be a list of strings`);
    rules[key] = v;
  }
  const unknown = (rules.detectors ?? []).filter((d) => !DETECTOR_IDS.has(d));
  if (unknown.length > 0) throw new InvalidDecisionError(`mask.detectors names unknown detectors: ${unknown.join(', ')}`);
  for (const p of rules.jsonPaths ?? []) {
    try {
      compileJsonPath(p);
    } catch (err) {
      throw new InvalidDecisionError(`mask.jsonPaths: ${errorMessage(err)}`);
    }
  }
  return rules;
}

/** Fixed inputs a new bundle must decide well-formedly before it replaces the running one. */
export const PROBE_INPUTS: readonly PolicyInput[] = [
  {
    identity: { subject: 'chaperone:self-check', issuer: 'chaperone', groups: [], claims: {} },
    connection: { name: 'self-check', protocol: 'postgres', labels: { env: 'prod' } },
    session: { id: 'self-check', clientAddress: '127.0.0.1:0', node: 'self-check' },
    command: {
      protocol: 'postgres',
      action: 'SELECT',
      text: 'SELECT 1',
      targets: [],
      sql: { statements: [{ text: 'SELECT 1', type: 'SELECT', tables: [], hasWhere: false, functions: [], writes: [] }] },
    },
  },
  {
    identity: { subject: 'chaperone:self-check', issuer: 'chaperone', groups: [], claims: {} },
    connection: { name: 'self-check', protocol: 'postgres', labels: { env: 'prod' } },
    session: { id: 'self-check', clientAddress: '127.0.0.1:0', node: 'self-check' },
    command: {
      protocol: 'postgres',
      action: 'DELETE',
      text: 'DELETE FROM self_check',
      targets: ['self_check'],
      sql: { statements: [{ text: 'DELETE FROM self_check', type: 'DELETE', tables: ['self_check'], hasWhere: false, functions: [], writes: [{ type: 'DELETE', table: 'self_check', hasWhere: false }] }] },
    },
  },
];
