import { createHash, randomUUID } from 'node:crypto';
import type { ApprovalRequest } from '../types.js';

/** A valid approval request for a fresh session (ids unique per call, so runs never collide). */
export function approvalRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const commandText = overrides.commandText ?? 'DELETE FROM orders WHERE created_at < now() - interval \'1 year\'';
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
