import type { Decision } from '@chaperone/events';
import type { PolicyDecision } from './types.js';

const RESULT = { allow: 'ALLOW', deny: 'DENY', approval: 'APPROVAL' } as const;

/** The Decision event every protocol records after the Command it decides. */
export function decisionEvent(commandId: number, d: PolicyDecision): Decision {
  return {
    type: 'Decision',
    commandId,
    result: RESULT[d.result],
    reasons: d.reasons,
    policyRevision: d.revision,
    evalMicros: Math.round(d.evalMicros),
    outputJson: d.outputJson ?? JSON.stringify(d.output ?? {}),
  };
}
