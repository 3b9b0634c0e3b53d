import { createHash, randomUUID } from 'node:crypto';
import type { ApprovalRequest } from '@chaperone/approvals-contract';

/**
 * A valid approval request for a fresh session. The command text is unique per call: workflow
 * ids derive from the binding (text + subject + connection) and are global to the namespace,
 * so runs and tests never join each other's approvals.
 */
export function approvalRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const commandText = overrides.commandText ?? `DELETE FROM orders WHERE created_at < now() - interval '1 year' -- ${randomUUID()}`;
  return {
    approvalId: randomUUID(),
    sessionId: randomUUID(),
    commandId: '7',
    subject: 'agent:ci-cleanup',
    connection: 'orders-db',
    commandText,
    commandSha256: createHash('sha256').update(commandText, 'utf8').digest('hex'),
    approverGroups: ['dba'],
    ttlMs: 60_000,
    ...overrides,
  };
}
