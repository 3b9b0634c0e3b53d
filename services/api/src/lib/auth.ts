import { status } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { TokenVerifier, type AgentIdentity } from '@chaperone/identity';
import type { Logger } from '@chaperone/observability';
import { errorMessage } from '@chaperone/observability';
import type { WebRole } from './web-types.js';

/** A refusal carrying its gRPC status. */
export class CallRefused extends Error {
  override name = 'CallRefused';
  constructor(
    readonly status: status,
    message: string,
  ) {
    super(message);
  }
}

/** What a person may do on the API, from the groups of their token (config `roles`). */
export type Role = WebRole;

/**
 * The roles each call needs (any one of them). Recorded content (sessions, statements, results,
 * SQL over everything) is for the SOC; approvals for approvers (the SOC and admins may read
 * them); WhoAmI for any valid token — an agent's token gets nothing else.
 */
const NEEDS: Record<string, readonly Role[]> = {
  ListSessions: ['soc', 'admin'],
  GetSession: ['soc', 'admin'],
  Query: ['soc', 'admin'],
  Replay: ['soc', 'admin'],
  Verify: ['soc', 'admin'],
  Transcript: ['soc', 'admin'],
  Exchanges: ['soc', 'admin'],
  EndSession: ['admin'],
  Dashboard: ['soc', 'admin'],
  ListApprovals: ['approver', 'soc', 'admin'],
  GetApproval: ['approver', 'soc', 'admin'],
  DecideApproval: ['approver'],
  ListMcpTools: ['soc', 'admin'],
  AcceptMcpTool: ['admin'],
  WhoAmI: [],
};

/** Calls that answer without a token (where to log in). */
const PUBLIC = new Set(['LoginInfo']);

const HOW = 'log in with `chaperone login`, or send --token / $CHAPERONE_TOKEN';

/** The caller of a call: who the token says, and the roles its groups give. */
export interface Caller {
  identity: AgentIdentity;
  roles: Role[];
}

export function rolesOf(groups: readonly string[], roles: Config['roles']): Role[] {
  return (['soc', 'approver', 'admin'] as const).filter((r) => groups.some((g) => roles[r].includes(g)));
}

/**
 * Bearer tokens on the API: our own (identity.signingKeyFile) and those of trusted issuers,
 * verified with the same limits as on the gateway. With api.requireToken (the default) every
 * call needs one, and the call's role (NEEDS) must be among the token's roles. A token that is
 * sent is always verified, so a stale or forged one is never silently ignored.
 */
export class Authenticator {
  private constructor(
    private readonly verifier: TokenVerifier | undefined,
    private readonly unavailable: string,
    private readonly config: Pick<Config, 'api' | 'roles'>,
  ) {}

  static async fromConfig(config: Pick<Config, 'identity' | 'api' | 'roles' | 'login'>, log: Logger): Promise<Authenticator> {
    // People's ID tokens from the login provider are accepted here, never on the gateway.
    const identity = config.login ? { ...config.identity, trustedIssuers: [...config.identity.trustedIssuers, config.login.trusted] } : config.identity;
    try {
      return new Authenticator(await TokenVerifier.fromConfig(identity), '', config);
    } catch (err) {
      log.warn({ err }, 'identity key not loadable: calls carrying a token will be refused');
      return new Authenticator(undefined, errorMessage(err), config);
    }
  }

  /** The caller of `rpc` from its `authorization` header, or undefined for an anonymous call where tokens are optional. */
  async caller(header: string | undefined, rpc: string): Promise<Caller | undefined> {
    if (PUBLIC.has(rpc)) return undefined;
    if (header === undefined) {
      if (this.config.api.requireToken) throw new CallRefused(status.UNAUTHENTICATED, `this API requires an identity token (${HOW})`);
      return undefined;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new CallRefused(status.UNAUTHENTICATED, 'authorization metadata must be "Bearer <token>"');
    if (!this.verifier) throw new CallRefused(status.UNAUTHENTICATED, `this API cannot verify tokens: ${this.unavailable}`);
    let identity: AgentIdentity;
    try {
      identity = await this.verifier.verify(m[1]!);
    } catch (err) {
      throw new CallRefused(status.UNAUTHENTICATED, errorMessage(err));
    }
    const roles = rolesOf(identity.groups, this.config.roles);
    const needs = NEEDS[rpc] ?? ['admin'];
    if (this.config.api.requireToken && needs.length > 0 && !needs.some((r) => roles.includes(r)))
      throw new CallRefused(
        status.PERMISSION_DENIED,
        `${rpc} needs the role ${needs.join(' or ')}: ${identity.subject} has ${roles.length ? `roles ${roles.join(', ')}` : 'no role'} ` +
          `(groups ${identity.groups.join(', ') || 'none'}; config roles maps groups to roles)`,
      );
    return { identity, roles };
  }
}
