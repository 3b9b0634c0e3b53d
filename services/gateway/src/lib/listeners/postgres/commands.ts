import { createHash } from 'node:crypto';
import type { Connection } from '@chaperone/config';
import type { AgentIdentity } from '@chaperone/identity';
import { parseSql } from '../../commands/index.js';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import type { SessionRecorder } from '../../recording/index.js';

/** What the policy evaluation needs besides the command itself. */
export interface DecisionContext {
  sessionId: string;
  clientAddress: string;
  nodeId: string;
  identity: AgentIdentity;
  connection: Connection;
  policy: { evaluate(input: PolicyInput): PolicyDecision };
}

export interface Verdict {
  result: PolicyDecision['result'];
  reasons: string[];
  commands: number;
}

const SEVERITY = { allow: 0, approval: 1, deny: 2 } as const;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Turns one SQL string (a simple Query or a Parse) into Command + Decision events, one pair
 * per statement, and returns the strictest verdict: a multi-statement string runs only if
 * every statement in it is allowed.
 */
export function decideSql(sql: string, ctx: DecisionContext, recorder: SessionRecorder, nextCommandId: () => number): Verdict {
  const parsed = parseSql(sql);
  const statements = parsed.statements.length > 0 ? parsed.statements : parsed.error ? [null] : [];
  let verdict: Verdict = { result: 'allow', reasons: [], commands: 0 };
  for (const stmt of statements) {
    const commandId = nextCommandId();
    const text = stmt?.text ?? sql;
    const action = stmt?.type ?? 'UNPARSEABLE';
    const targets = stmt?.tables ?? [];
    recorder.append({
      type: 'Command',
      commandId,
      protocol: 'postgres',
      action,
      targets,
      text,
      textSha256: sha256(text),
      detailsJson: JSON.stringify(stmt ?? { error: parsed.error }),
      params: [],
    });
    const input: PolicyInput = {
      identity: { subject: ctx.identity.subject, issuer: ctx.identity.issuer, groups: ctx.identity.groups, claims: ctx.identity.claims },
      connection: { name: ctx.connection.name, protocol: ctx.connection.protocol, labels: ctx.connection.labels },
      session: { id: ctx.sessionId, clientAddress: ctx.clientAddress, node: ctx.nodeId },
      command: { protocol: 'postgres', action, text, targets, sql: { statements: stmt ? [stmt] : [], ...(parsed.error ? { error: parsed.error } : {}) } },
    };
    const d = ctx.policy.evaluate(input);
    recorder.append({
      type: 'Decision',
      commandId,
      result: d.result === 'allow' ? 'ALLOW' : d.result === 'deny' ? 'DENY' : 'APPROVAL',
      reasons: d.reasons,
      policyRevision: d.revision,
      evalMicros: Math.round(d.evalMicros),
      outputJson: JSON.stringify(d.output ?? {}),
    });
    verdict.commands++;
    if (SEVERITY[d.result] > SEVERITY[verdict.result]) verdict = { ...verdict, result: d.result, reasons: d.reasons };
  }
  return verdict;
}
