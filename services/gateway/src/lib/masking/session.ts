import { Backend, type PgMessage } from '../protocols/postgres/index.js';
import { DETECTORS, SECRET_DETECTOR_IDS } from './detectors.js';
import { Masker } from './masker.js';
import { PgResultMasker, type Masked } from './postgres.js';
import type { MaskRules } from './types.js';

const PII_IDS = DETECTORS.filter((d) => d.kind === 'pii').map((d) => d.id);

/**
 * The rules the gateway applies for a policy's mask rules: every secret detector always (the
 * policy can add PII detectors, never remove secret ones), PII detectors as the policy lists
 * them (all of them when it says nothing), its columns and JSON paths.
 */
function buildEffective(policy: MaskRules | undefined): MaskRules {
  const detectors = [...new Set([...SECRET_DETECTOR_IDS, ...(policy?.detectors ?? PII_IDS)])].sort();
  const columns = [...new Set(policy?.columns ?? [])].sort();
  const jsonPaths = [...new Set(policy?.jsonPaths ?? [])].sort();
  return Object.freeze({ detectors: Object.freeze(detectors), columns: Object.freeze(columns), jsonPaths: Object.freeze(jsonPaths) }) as MaskRules;
}

/** The rules when the policy names none. */
const DEFAULT_RULES = buildEffective(undefined);
/**
 * Effective rules by the policy's rules object: the policy engine hands out one frozen object per
 * distinct decision, so a session's statements mostly map to one entry (no sets and sorts per
 * statement). Weak: a decision dropped from the engine's cache drops its entry.
 */
const effective = new WeakMap<MaskRules, MaskRules>();

/** What to mask for a decision's rules: the policy's, plus the secret detectors always. Frozen, shared. */
export function effectiveRules(policy: MaskRules | undefined): MaskRules {
  if (!policy) return DEFAULT_RULES;
  let r = effective.get(policy);
  if (!r) effective.set(policy, (r = buildEffective(policy)));
  return r;
}

/** Both rule sets at once: what either would mask is masked. The same object when they are one. */
export function unionRules(a: MaskRules, b: MaskRules): MaskRules {
  if (a === b) return a;
  const u = (x?: string[], y?: string[]) => [...new Set([...(x ?? []), ...(y ?? [])])].sort();
  return { detectors: u(a.detectors, b.detectors), columns: u(a.columns, b.columns), jsonPaths: u(a.jsonPaths, b.jsonPaths) };
}

/** Maskers by rules: sessions share them, and a session reuses one across executions. */
const maskers = new Map<string, Masker>();
const maskerOf = new WeakMap<MaskRules, Masker>();
const MAX_CACHED = 256;

export function maskerFor(rules: MaskRules): Masker {
  const known = maskerOf.get(rules);
  if (known) return known;
  const key = JSON.stringify([rules.detectors, rules.columns, rules.jsonPaths]);
  let m = maskers.get(key);
  if (!m) {
    if (maskers.size >= MAX_CACHED) maskers.clear();
    maskers.set(key, (m = new Masker(rules)));
  }
  // Only frozen rules (the shared effective ones) may stand for their contents by identity.
  if (Object.isFrozen(rules)) maskerOf.set(rules, m);
  return m;
}

/**
 * Result masking for one PostgreSQL session, kept in step with its executions. Each execution
 * (a simple Query, or a Bind of a prepared statement) brings the mask rules of its decision.
 * Results cannot be attributed to executions exactly without tracking portals, so the rules in
 * force are those of the latest execution, and while earlier results are still outstanding
 * (pipelining: no ReadyForQuery since) the union of all of them: when unsure, mask more.
 */
export class PgSessionMasking {
  private readonly results = new PgResultMasker(maskerFor(DEFAULT_RULES));
  private rules: MaskRules = DEFAULT_RULES;
  private pending = false;

  /** The effective rules of the next results (for tests and diagnostics). */
  get current(): MaskRules {
    return this.rules;
  }

  /** One execution is going upstream with these (effective) rules. */
  onExecution(rules: MaskRules): void {
    this.rules = this.pending ? unionRules(this.rules, rules) : rules;
    this.pending = true;
    this.results.setMasker(maskerFor(this.rules));
  }

  /** Masks one upstream message; returns the same frame when there was nothing to mask. */
  mask(m: PgMessage): Masked {
    const r = this.results.mask(m);
    if (m.code === Backend.ReadyForQuery) this.pending = false;
    return r;
  }
}
