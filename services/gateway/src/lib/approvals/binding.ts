import { createHash } from 'node:crypto';

/**
 * The binding of an approval (DESIGN.md "Approvals are bound"): SHA-256 over the exact command
 * text, the identity's subject and the connection name, as a JSON array so no choice of
 * separators makes two triples collide. Must equal @chaperone/approvals' approvalBinding
 * (both packages test the same vector; the e2e test checks the ids agree).
 */
export function approvalBinding(subject: string, connection: string, commandText: string): string {
  return createHash('sha256').update(JSON.stringify(['chaperone-approval-v1', subject, connection, commandText]), 'utf8').digest('hex');
}

/**
 * One workflow id per binding: a retry of the same command — from another session, or another
 * gateway node after this one died — finds the running approval (or the approved one, while
 * it is valid) instead of prompting again; any other command gets its own.
 */
export const approvalWorkflowId = (bindingSha256: string) => `approval-${bindingSha256}`;
