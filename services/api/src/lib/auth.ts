import { status, type Metadata } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { TokenVerifier, type AgentIdentity } from '@chaperone/identity';
import type { Logger } from '@chaperone/observability';

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

/** Calls that read recorded content (statements, results, SQL over everything) need a SOC group. */
const SOC_ONLY = new Set(['Query', 'Replay', 'Verify']);

const HOW = 'the CLI sends --token, api.token or $CHAPERONE_TOKEN, or mints one itself where identity.signingKeyFile is readable';

/**
 * Bearer tokens on the API, from the same issuer as agents' tokens (identity.signingKeyFile).
 * With api.requireToken (the default) every call needs one; Query, Replay and Verify also need
 * the caller to be in one of api.socGroups. A token that is sent is always verified, so a stale
 * or forged one is never silently ignored.
 */
export class Authenticator {
  private constructor(
    private readonly verifier: TokenVerifier | undefined,
    private readonly unavailable: string,
    private readonly api: Config['api'],
  ) {}

  static async fromConfig(config: Pick<Config, 'identity' | 'api'>, log: Logger): Promise<Authenticator> {
    try {
      return new Authenticator(await TokenVerifier.fromConfig(config.identity), '', config.api);
    } catch (err) {
      log.warn({ err }, 'identity key not loadable: calls carrying a token will be refused');
      return new Authenticator(undefined, (err as Error).message, config.api);
    }
  }

  /** The caller of `rpc`, or undefined for an anonymous call where tokens are optional. */
  async caller(md: Metadata, rpc: string): Promise<AgentIdentity | undefined> {
    const header = md.get('authorization')[0];
    if (header === undefined) {
      if (this.api.requireToken) throw new CallRefused(status.UNAUTHENTICATED, `this API requires an identity token (${HOW})`);
      return undefined;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(String(header));
    if (!m) throw new CallRefused(status.UNAUTHENTICATED, 'authorization metadata must be "Bearer <token>"');
    if (!this.verifier) throw new CallRefused(status.UNAUTHENTICATED, `this API cannot verify tokens: ${this.unavailable}`);
    let id: AgentIdentity;
    try {
      id = await this.verifier.verify(m[1]!);
    } catch (err) {
      throw new CallRefused(status.UNAUTHENTICATED, (err as Error).message);
    }
    if (SOC_ONLY.has(rpc) && this.api.requireToken && !id.groups.some((g) => this.api.socGroups.includes(g)))
      throw new CallRefused(
        status.PERMISSION_DENIED,
        `${rpc} is for the SOC: ${id.subject} is in ${id.groups.length ? `groups ${id.groups.join(', ')}` : 'no group'}, ` +
          `not in ${this.api.socGroups.join(' or ')} (issue a token with --groups ${this.api.socGroups[0] ?? 'soc'})`,
      );
    return id;
  }
}
