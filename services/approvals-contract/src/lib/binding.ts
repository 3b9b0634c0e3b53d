import { createHash } from 'node:crypto';

/**
 * The binding of an approval (services/README.md "Approvals are bound"): SHA-256 over the exact command
 * text, the identity's subject and the connection name, as a JSON array so no choice of
 * separators can make two different triples collide. The one definition: the gateway computes
 * it to start or find an approval, the approvals client to start one from the CLI.
 */
export function approvalBinding(subject: string, connection: string, commandText: string): string {
  return createHash('sha256').update(JSON.stringify(['chaperone-approval-v1', subject, connection, commandText]), 'utf8').digest('hex');
}
