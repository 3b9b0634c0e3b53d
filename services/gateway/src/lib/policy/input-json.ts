import { deepFreeze } from '../shared-state.js';
import type { PolicyInput } from './types.js';

/** The part of a policy input that stays the same for every command of a session. */
export type PolicyInputBase = Pick<PolicyInput, 'identity' | 'connection' | 'session'>;

function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

/**
 * A session's identity, connection and session parts, for the producer to pass in every input
 * of that session: only the contract's fields are taken (an identity may carry more, such as its
 * token id), copied and frozen, so the engine serializes them once, not per command.
 */
export function policyInputBase(identity: PolicyInputBase['identity'], connection: PolicyInputBase['connection'], session: PolicyInputBase['session']): PolicyInputBase {
  return deepFreeze(
    structuredClone({
      identity: { subject: identity.subject, issuer: identity.issuer, groups: identity.groups, claims: identity.claims },
      connection: { name: connection.name, protocol: connection.protocol, labels: connection.labels },
      session: { id: session.id, clientAddress: session.clientAddress, node: session.node },
    }),
  );
}

/**
 * Serializes policy inputs. The identity/connection/session part of an input is serialized once
 * per session when the producer passes the same deep-frozen objects each time (see
 * {@link policyInputBase}); other inputs are serialized whole. Frozen objects cannot change, so
 * a reused prefix is always exactly what JSON.stringify of the input would give.
 */
export class InputSerializer {
  private readonly prefixes = new WeakMap<object, { connection: object; session: object; json: string }>();

  json(input: PolicyInput): string {
    // Inputs from policy authors (`chaperone policy eval --input`) may be any JSON at all.
    if (typeof input !== 'object' || input === null) return JSON.stringify(input) ?? 'null';
    const { identity, connection, session, command } = input;
    if (typeof identity !== 'object' || identity === null) return JSON.stringify(input);
    const hit = this.prefixes.get(identity);
    if (hit !== undefined && hit.connection === connection && hit.session === session) return `${hit.json}${JSON.stringify(command)}}`;
    if (!deepFrozen(identity) || !deepFrozen(connection) || !deepFrozen(session) || command === undefined) return JSON.stringify(input);
    const json = `${JSON.stringify({ identity, connection, session }).slice(0, -1)},"command":`;
    this.prefixes.set(identity, { connection, session, json });
    return `${json}${JSON.stringify(command)}}`;
  }
}

