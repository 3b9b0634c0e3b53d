import type { Access } from '@chaperone/config';
import { AccessDeniedError } from './errors.js';
import type { AgentIdentity } from './types.js';

/**
 * Which identities may open which connection (config `access`), asked before the upstream is
 * dialled. A connection with rules admits a subject or group listed in any of them; one without
 * follows `access.default`.
 */
export class ConnectionAccess {
  private readonly byConnection = new Map<string, { subjects: Set<string>; groups: Set<string> }>();

  constructor(private readonly access: Access) {
    for (const r of access.rules) {
      const entry = this.byConnection.get(r.connection) ?? { subjects: new Set<string>(), groups: new Set<string>() };
      for (const s of r.subjects) entry.subjects.add(s);
      for (const g of r.groups) entry.groups.add(g);
      this.byConnection.set(r.connection, entry);
    }
  }

  /** Whether `identity` may open `connection`. */
  allows(connection: string, identity: Pick<AgentIdentity, 'subject' | 'groups'>): boolean {
    const rule = this.byConnection.get(connection);
    if (!rule) return this.access.default === 'allow';
    return rule.subjects.has(identity.subject) || identity.groups.some((g) => rule.groups.has(g));
  }

  /** Throws {@link AccessDeniedError} with a one-line reason naming the connection. */
  check(connection: string, identity: Pick<AgentIdentity, 'subject' | 'groups'>): void {
    if (this.allows(connection, identity)) return;
    const groups = identity.groups.length ? `groups ${identity.groups.join(', ')}` : 'no group';
    throw new AccessDeniedError(connection, `${identity.subject} (${groups}) may not open connection "${connection}"; ask an admin to add the subject or a group to its access rule`);
  }
}
