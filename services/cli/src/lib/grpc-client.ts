import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, parseDuration, type Config } from '@chaperone/config';
import { ApiError, createApiClient, type ApiClient } from '@chaperone/api/client';
import { UserError, configFrom, withConfig } from './context.js';

export interface ApiOptions {
  api?: string;
  token?: string;
  config?: string;
}

/** Adds the options of every command that talks to the Chaperone API. */
export function withApi(cmd: Command): Command {
  return withConfig(cmd)
    .option('--api <host:port>', 'Chaperone API address (default: api.listen from the configuration)')
    .option(
      '--token <jwt>',
      'identity token to present (default: api.token or $CHAPERONE_TOKEN; else a 5-minute SOC token minted with identity.signingKeyFile when this machine can read it)',
    );
}

/** Turns API failures into messages a user can act on. */
function explain(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const hint: Record<string, string> = {
    UNAUTHENTICATED: ' (get a fresh token with `chaperone token issue --groups soc`, pass it with --token or $CHAPERONE_TOKEN)',
    DEADLINE_EXCEEDED: ' (the API did not answer in time; is ClickHouse overloaded?)',
  };
  return new UserError(`${err.message}${hint[err.code] ?? ''}`, err.code === 'NOT_FOUND' ? 3 : 1);
}

/** Lifetime of a token the CLI mints for itself: one command's worth. */
const MINTED_TTL_MS = 5 * 60_000;

/**
 * The token to present: --token, else api.token / $CHAPERONE_TOKEN, else one minted here with
 * the identity signing key (operators' machines and the local stack have it), in the SOC groups.
 * Undefined when none can be had; the API then says what is missing.
 */
async function tokenFor(opts: ApiOptions, config: Config | undefined): Promise<string | undefined> {
  if (opts.token) return opts.token;
  if (!config) return undefined;
  if (config.api.token) return config.api.token;
  try {
    // Loaded only when a token is minted: a command given --token starts sooner without it.
    const { TokenIssuer } = await import('@chaperone/identity');
    const issuer = await TokenIssuer.fromConfig(config.identity);
    let user = 'operator';
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (some containers): the generic name will do.
    }
    return await issuer.issue({ subject: `cli:${user}@${hostname()}`, groups: config.api.socGroups, ttlMs: Math.min(MINTED_TTL_MS, config.identity.maxTtlMs) });
  } catch {
    return undefined;
  }
}

/** The configuration when there is one; --api and --token work without it. */
function optionalConfig(opts: ApiOptions): Config | undefined {
  try {
    return configFrom(opts);
  } catch (err) {
    if (err instanceof ConfigError && !opts.config) return undefined;
    throw err;
  }
}

/** Runs `fn` with a client of the API named by --api, else by the configuration; always closes it. */
export async function withApiClient<T>(opts: ApiOptions, fn: (client: ApiClient) => Promise<T>, clientOpts: { timeoutMs?: number } = {}): Promise<T> {
  const config = opts.api && opts.token ? undefined : optionalConfig(opts);
  let address = opts.api;
  if (!address) {
    if (!config) configFrom(opts); // throws the configuration error, with its way out
    const { host, port } = config!.api.listen;
    address = `${host}:${port}`;
  }
  const token = await tokenFor(opts, config);
  const client = createApiClient(address, { ...clientOpts, ...(token ? { token } : {}) });
  try {
    return await fn(client);
  } catch (err) {
    throw explain(err);
  } finally {
    client.close();
  }
}

/** `--since`: a duration back from now (`90s`, `15m`, `1h`, `7d`) or an ISO date/time; microseconds. */
export function parseSince(value: string, now = Date.now()): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new UserError(`--since: not a date: ${value}`);
    return t * 1000;
  }
  try {
    return (now - parseDuration(value, '--since')) * 1000;
  } catch {
    throw new UserError(`--since: expected a duration like 1h or 7d, or a date like 2026-01-15T12:00:00Z; got "${value}"`);
  }
}

/** Parses a positive integer option. */
export function positiveInt(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`${name}: expected a positive integer, got "${value}"`);
    return n;
  };
}
