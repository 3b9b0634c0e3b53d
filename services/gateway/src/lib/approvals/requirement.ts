import type { ApprovalRequirement, PolicyDecision } from '../policy/index.js';

/**
 * One requirement for a command whose statements each asked for approval: only groups every
 * statement names may answer, the largest quorum and the shortest TTL apply. undefined when
 * no group could approve all of them (the command is then refused: nobody could release it).
 */
export function mergeRequirements(decisions: PolicyDecision[]): ApprovalRequirement | undefined {
  const reqs = decisions.filter((d) => d.result === 'approval').map((d) => d.approval);
  if (reqs.length === 0 || reqs.some((r) => r === undefined)) return undefined;
  const all = reqs as ApprovalRequirement[];
  const groups = all.slice(1).reduce((acc, r) => acc.filter((g) => r.approverGroups.includes(g)), [...all[0]!.approverGroups]);
  if (groups.length === 0) return undefined;
  return { approverGroups: groups, quorum: Math.max(...all.map((r) => r.quorum)), ttlMs: Math.min(...all.map((r) => r.ttlMs)) };
}
