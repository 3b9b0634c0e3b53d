import type { SqlParse } from '../commands/types.js';
import type { MaskRules } from '../masking/index.js';

/**
 * The policy input: the contract every protocol plugs into (documented in policies/README.md).
 * Protocols add their own detail next to `sql` (e.g. `http`) without changing the rest.
 */
export interface PolicyInput {
  identity: { subject: string; issuer: string; groups: string[]; claims: Record<string, unknown> };
  connection: { name: string; protocol: string; labels: Record<string, string> };
  session: { id: string; clientAddress: string; node: string };
  command: PolicyCommand;
}

export interface PolicyCommand {
  protocol: string;
  /** SELECT, DELETE, MULTI (several statements), UNPARSEABLE, …; HTTP: the method. */
  action: string;
  text: string;
  targets: string[];
  /** PostgreSQL: the parsed statements (see parseSql). */
  sql?: SqlParse;
  [detail: string]: unknown;
}

export type DecisionResult = 'allow' | 'deny' | 'approval';

/** Who must approve a held command, how many of them, and how long the approval stays usable. */
export interface ApprovalRequirement {
  approverGroups: string[];
  quorum: number;
  ttlMs: number;
}

/** What the gateway does with a command, and the evidence recorded with it. */
export interface PolicyDecision {
  result: DecisionResult;
  reasons: string[];
  /** The bundle revision (from its .manifest) that decided; "none" when no bundle is loaded. */
  revision: string;
  evalMicros: number;
  /** Present when result is 'approval'. */
  approval?: ApprovalRequirement;
  /**
   * What to mask in this command's results, when the policy says (validated: known detector
   * ids, readable JSON paths). The gateway adds every secret detector whatever this says.
   */
  mask?: MaskRules;
  /** The policy's raw output, recorded as Decision.outputJson. */
  output: unknown;
  /** `output` as JSON, when the engine already has it (it serializes each distinct output once). */
  outputJson?: string;
}
