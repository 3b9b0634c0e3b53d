import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { parseDuration, parseSize } from './units.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface PostgresUpstream {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Resolved secret; never logged or recorded. */
  password: string | undefined;
  tls: boolean;
}

export interface Connection {
  name: string;
  protocol: 'postgres' | 'http';
  labels: Record<string, string>;
  postgres: PostgresUpstream | undefined;
}

/** The validated configuration with defaults filled, durations in ms, sizes in bytes, paths absolute. */
export interface Config {
  configFile: string | undefined;
  nodeId: string;
  logLevel: ParsedConfig['logging']['level'];
  identity: { issuer: string; audience: string; signingKeyFile: string; defaultTtlMs: number; maxTtlMs: number };
  gateway: {
    postgres: {
      listen: HostPort;
      tls: { certFile: string; keyFile: string } | undefined;
      maxMessageBytes: number;
      maxStartupBytes: number;
      idleTimeoutMs: number;
    };
    http: HostPort;
    drainTimeoutMs: number;
  };
  connections: Connection[];
  recording: { nodeKeyFile: string; trustedNodeKeys: Record<string, string> };
  kafka: { brokers: string[]; clientId: string; topic: string; partitions: number; ackTimeoutMs: number; maxInFlightBytes: number };
  clickhouse: ParsedConfig['clickhouse'];
  materializer: { groupId: string; http: HostPort; batchSize: number; flushIntervalMs: number };
  temporal: { address: string; namespace: string; taskQueue: string; http: HostPort };
  policy: { bundleFile: string; reloadIntervalMs: number };
  api: { listen: HostPort; http: HostPort };
}

export interface LoadOptions {
  /** Environment used for `env:` secrets and CHAPERONE_* defaults. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Overrides applied after parsing the file (e.g. from command-line flags). */
  nodeId?: string;
}

function hostPort(value: string): HostPort {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

function resolveSecret(
  s: { value?: string | undefined; file?: string | undefined; env?: string | undefined } | undefined,
  base: string,
  env: NodeJS.ProcessEnv,
  field: string,
): string | undefined {
  if (!s) return undefined;
  if (s.value !== undefined) return s.value;
  if (s.file !== undefined) {
    try {
      return readFileSync(resolve(base, s.file), 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${field}: cannot read secret file ${s.file}: ${(err as Error).message}`);
    }
  }
  const v = env[s.env!];
  if (v === undefined) throw new ConfigError(`${field}: environment variable ${s.env} is not set`);
  return v;
}

/** Fills defaults, converts units, resolves paths and secrets; throws ConfigError on invalid combinations. */
export function compileOptions(raw: unknown, baseDir: string, opts: LoadOptions = {}, configFile?: string): Config {
  const env = opts.env ?? process.env;
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${configFile ? ` in ${configFile}` : ''}:\n${lines.join('\n')}`);
  }
  const c = result.data;
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const names = new Set<string>();
  const connections: Connection[] = c.connections.map((conn, i) => {
    if (names.has(conn.name)) throw new ConfigError(`connections[${i}]: duplicate connection name "${conn.name}"`);
    names.add(conn.name);
    if (conn.protocol === 'postgres' && !conn.postgres)
      throw new ConfigError(`connections[${i}] (${conn.name}): protocol postgres needs a "postgres:" upstream block`);
    const pg = conn.postgres;
    return {
      name: conn.name,
      protocol: conn.protocol,
      labels: conn.labels,
      postgres: pg && {
        host: pg.host,
        port: pg.port,
        database: pg.database,
        user: pg.user,
        password: resolveSecret(pg.password, baseDir, env, `connections[${i}].postgres.password`),
        tls: pg.tls,
      },
    };
  });
  const defaultTtlMs = parseDuration(c.identity.defaultTtl, 'identity.defaultTtl');
  const maxTtlMs = parseDuration(c.identity.maxTtl, 'identity.maxTtl');
  if (defaultTtlMs > maxTtlMs) throw new ConfigError('identity.defaultTtl must not exceed identity.maxTtl');
  const pgl = c.gateway.postgres;
  return {
    configFile,
    nodeId: opts.nodeId ?? c.node.id ?? `${hostname()}-${process.pid}`,
    logLevel: c.logging.level,
    identity: { issuer: c.identity.issuer, audience: c.identity.audience, signingKeyFile: path(c.identity.signingKeyFile), defaultTtlMs, maxTtlMs },
    gateway: {
      postgres: {
        listen: hostPort(pgl.listen),
        tls: pgl.tls && { certFile: path(pgl.tls.certFile), keyFile: path(pgl.tls.keyFile) },
        maxMessageBytes: parseSize(pgl.maxMessageBytes, 'gateway.postgres.maxMessageBytes'),
        maxStartupBytes: parseSize(pgl.maxStartupBytes, 'gateway.postgres.maxStartupBytes'),
        idleTimeoutMs: parseDuration(pgl.idleTimeout, 'gateway.postgres.idleTimeout'),
      },
      http: hostPort(c.gateway.http),
      drainTimeoutMs: parseDuration(c.gateway.drainTimeout, 'gateway.drainTimeout'),
    },
    connections,
    recording: {
      nodeKeyFile: path(c.recording.nodeKeyFile),
      trustedNodeKeys: Object.fromEntries(Object.entries(c.recording.trustedNodeKeys).map(([k, v]) => [k, path(v)])),
    },
    kafka: {
      brokers: c.kafka.brokers,
      clientId: c.kafka.clientId,
      topic: c.kafka.topic,
      partitions: c.kafka.partitions,
      ackTimeoutMs: parseDuration(c.kafka.ackTimeout, 'kafka.ackTimeout'),
      maxInFlightBytes: parseSize(c.kafka.maxInFlightBytes, 'kafka.maxInFlightBytes'),
    },
    clickhouse: c.clickhouse,
    materializer: {
      groupId: c.materializer.groupId,
      http: hostPort(c.materializer.http),
      batchSize: c.materializer.batchSize,
      flushIntervalMs: parseDuration(c.materializer.flushInterval, 'materializer.flushInterval'),
    },
    temporal: { address: c.temporal.address, namespace: c.temporal.namespace, taskQueue: c.temporal.taskQueue, http: hostPort(c.temporal.http) },
    policy: { bundleFile: path(c.policy.bundleFile), reloadIntervalMs: parseDuration(c.policy.reloadInterval, 'policy.reloadInterval') },
    api: { listen: hostPort(c.api.listen), http: hostPort(c.api.http) },
  };
}

/**
 * Reads and validates a chaperone.yaml. The path comes from the argument, else CHAPERONE_CONFIG,
 * else ./chaperone.yaml. Relative paths inside the file are relative to the file's folder.
 */
export function loadConfig(file?: string, opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const path = resolve(file ?? env.CHAPERONE_CONFIG ?? 'chaperone.yaml');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read configuration ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. ` +
        'Pass --config <file> or set CHAPERONE_CONFIG (deploy/local writes one to deploy/local/.run/chaperone.yaml).',
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  return compileOptions(raw, dirname(path), opts, path);
}

/** Where the configuration would be read from, for messages. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CHAPERONE_CONFIG ?? 'chaperone.yaml');
}
