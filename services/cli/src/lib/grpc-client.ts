import type { Command } from 'commander';
import { parseDuration } from '@chaperone/config';
import { ApiError, createApiClient, type ApiClient } from '@chaperone/api';
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
    .option('--token <jwt>', 'identity token to present (from `chaperone token issue`)');
}

/** Turns API failures into messages a user can act on. */
function explain(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const hint: Record<string, string> = {
    UNAUTHENTICATED: ' (get a fresh token with `chaperone token issue`)',
    DEADLINE_EXCEEDED: ' (the API did not answer in time; is ClickHouse overloaded?)',
  };
  return new UserError(`${err.message}${hint[err.code] ?? ''}`, err.code === 'NOT_FOUND' ? 3 : 1);
}

/** Runs `fn` with a client of the API named by --api, else by the configuration; always closes it. */
export async function withApiClient<T>(opts: ApiOptions, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  let address = opts.api;
  if (!address) {
    const { host, port } = configFrom(opts).api.listen;
    address = `${host}:${port}`;
  }
  const client = createApiClient(address, opts.token ? { token: opts.token } : {});
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
