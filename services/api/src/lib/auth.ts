import { status, type Metadata } from '@grpc/grpc-js';
import type { Config } from '@chaperone/config';
import { TokenVerifier } from '@chaperone/identity';
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

/**
 * Bearer tokens on the API. Today a token is optional: when a caller sends one it must verify
 * (so a stale or forged token is never silently ignored), and its subject is logged with the
 * call. Requiring a token and checking the caller's groups lands with the SOC issue.
 */
export class Authenticator {
  private constructor(
    private readonly verifier: TokenVerifier | undefined,
    private readonly unavailable: string,
  ) {}

  static async fromConfig(identity: Config['identity'], log: Logger): Promise<Authenticator> {
    try {
      return new Authenticator(await TokenVerifier.fromConfig(identity), '');
    } catch (err) {
      log.warn({ err }, 'identity key not loadable: calls carrying a token will be refused');
      return new Authenticator(undefined, (err as Error).message);
    }
  }

  /** The caller's subject, or undefined for an anonymous call. */
  async caller(md: Metadata): Promise<string | undefined> {
    const header = md.get('authorization')[0];
    if (header === undefined) return undefined;
    const m = /^Bearer\s+(\S+)$/i.exec(String(header));
    if (!m) throw new CallRefused(status.UNAUTHENTICATED, 'authorization metadata must be "Bearer <token>"');
    if (!this.verifier) throw new CallRefused(status.UNAUTHENTICATED, `this API cannot verify tokens: ${this.unavailable}`);
    try {
      return (await this.verifier.verify(m[1]!)).subject;
    } catch (err) {
      throw new CallRefused(status.UNAUTHENTICATED, (err as Error).message);
    }
  }
}
