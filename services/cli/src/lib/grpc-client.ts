import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, parseDuration, type Config } from '@chaperone/config';
import { ApiError, createApiClient, type ApiClient } from '@chaperone/api/client';
import { UserError, configFrom, withConfig } from './context.js';
import { readLogin, writeLogin } from './login/credentials.js';
import { refresh } from './login/oidc.js';

export interface ApiOptions {
  api?: string;
  token?: string;
  config?: string;
}

/** Adds the options of every command that talks to the Chaperone API. */
export function withApi(cmd: Command): Command {
  return withConfig(cmd)
    .option('--api <host:port>', 'Chaperone API address (default: $CHAPERONE_API, else the one you logged in to, else api.listen from the configuration)')
    .option(
      '--token <jwt>',
      'identity token to present (default: $CHAPERONE_TOKEN or api.token; else your `chaperone login`; else a 5-minute SOC token minted with identity.signingKeyFile when this machine can read it)',
    );
}

/** Turns API failures into messages a user can act on. */
function explain(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const hint: Record<string, string> = {
    UNAUTHENTICATED: ' (log in with `chaperone login --api <host:port>`, or pass a token with --token or $CHAPERONE_TOKEN)',
    PERMISSION_DENIED: ' (`chaperone whoami` shows your roles; an admin maps groups to roles in the configuration, `roles`)',
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
async function tokenFor(opts: ApiOptions, config: Config | undefined, address: string): Promise<string | undefined> {
  if (opts.token) return opts.token;
  if (process.env.CHAPERONE_TOKEN?.trim()) return process.env.CHAPERONE_TOKEN.trim();
  if (config?.api.token) return config.api.token;
  const login = await loggedIn(address);
  if (login) return login;
  if (!config) return undefined;
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

/** Refreshed when less than this is left, so a command does not start with a token about to expire. */
const REFRESH_MARGIN_MS = 60_000;

/** The stored login's ID token for this API, refreshed (and stored again) when it is about to expire. */
async function loggedIn(address: string): Promise<string | undefined> {
  const login = await readLogin();
  if (!login || login.api !== address) return undefined;
  if (login.expiresAt - REFRESH_MARGIN_MS > Date.now()) return login.idToken;
  if (!login.refreshToken) throw new UserError('your login expired; run `chaperone login` again');
  const fresh = await refresh(login.tokenEndpoint, login.clientId, login.refreshToken);
  await writeLogin({ ...login, ...fresh });
  return fresh.idToken;
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
  const stored = opts.api || process.env.CHAPERONE_API ? undefined : await readLogin();
  let address = opts.api || process.env.CHAPERONE_API || stored?.api;
  // People need no configuration: an API address (flag, environment or login) and a token.
  const config = address && (opts.token || stored || (await readLogin())?.api === address) && !opts.config ? undefined : optionalConfig(opts);
  if (!address) {
    if (!config) configFrom(opts); // throws the configuration error, with its way out
    const { host, port } = config!.api.listen;
    address = `${host}:${port}`;
  }
  const token = await tokenFor(opts, config, address);
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
