export { PolicyEngine } from './engine.js';
export { PolicyBundleError, InvalidDecisionError } from './errors.js';
export { parseDecision, PROBE_INPUTS } from './decision.js';
export { policyInputBase, type PolicyInputBase } from './input-json.js';
export type { PolicyInput, PolicyCommand, PolicyDecision, DecisionResult, ApprovalRequirement } from './types.js';
export { decisionEvent } from './event.js';
