import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { configSchema, httpProxyListenerSchema, type ParsedConfig } from './schema.js';
import { parseDuration, parseSize } from './units.js';
import { compileAccess, compileIdentity, compileLogin, compileRetention, type Access, type IdentityConfig, type LoginConfig, type Retention, type Roles } from './identity.js';
import { errorMessage } from '@chaperone/observability';

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
  /** statement_timeout set at login: this connection's, else gateway.postgres.statementTimeout; undefined: not set (0: off). */
  statementTimeoutMs: number | undefined;
}

/** Upstream credentials with secrets resolved; never logged or recorded. */
export type HttpCredentials =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'kubernetesServiceAccount'; tokenFile: string; reloadIntervalMs: number }
  | { type: 'registryToken'; username: string | undefined; password: string | undefined }
  | { type: 'oauthClientCredentials'; tokenUrl: string; clientId: string; clientSecret: string; scope: string | undefined; resource: string | undefined; refreshBeforeMs: number };

export type BodyStore = 'full' | 'digest' | 'none';

export interface HttpUpstream {
  /** Parsed base URL: origin plus a path prefix without trailing slash ('' for none). */
  url: { protocol: 'http:' | 'https:'; hostname: string; port: number; basePath: string; host: string };
  kind: 'rest' | 'git' | 'oci' | 'k8s' | 'mcp';
  /** Lower-case host names, without ports. */
  hosts: string[];
  /** Normalised to start and end with '/', or undefined. */
  pathPrefix: string | undefined;
  stripPrefix: boolean;
  preserveHost: boolean;
  /** Lower-case agent credential fields (cookie, proxy-authorization) forwarded upstream. */
  forwardAgentHeaders: string[];
  tls: { ca: string | undefined; serverName: string | undefined; rejectUnauthorized: boolean };
  credentials: HttpCredentials;
  bodies: { maxStoredBytes: number; rules: { pattern: string; store: BodyStore }[]; fallback: BodyStore };
  responseTimeoutMs: number;
}

interface ConnectionCommon {
  name: string;
  labels: Record<string, string>;
}

/** A connection agents reach through the PostgreSQL listener (`dbname=<name>`). */
export interface PostgresConnection extends ConnectionCommon {
  protocol: 'postgres';
  postgres: PostgresUpstream;
  http?: undefined;
}

/** A connection agents reach through the HTTP proxy (routed by host and path prefix). */
export interface HttpConnection extends ConnectionCommon {
  protocol: 'http';
  http: HttpUpstream;
  postgres?: undefined;
}

/** A configured connection: its `protocol` says which upstream block it has. */
export type Connection = PostgresConnection | HttpConnection;

export interface HttpProxyListener {
  listen: HostPort;
  /** undefined only with `plaintext: true`. */
  tls: { certFile: string; keyFile: string } | undefined;
  maxHeaderBytes: number;
  maxHeaderFields: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  /** HTTP/2 over TLS (ALPN h2); `enabled` is false on a plaintext listener. */
  h2: { enabled: boolean; maxConcurrentStreams: number; maxHeaderListSize: number };
}

/** The validated configuration with defaults filled, durations in ms, sizes in bytes, paths absolute. */
export interface Config {
  configFile: string | undefined;
  nodeId: string;
  logLevel: ParsedConfig['logging']['level'];
  identity: IdentityConfig;
  gateway: {
    postgres: {
      listen: HostPort;
      tls: { certFile: string; keyFile: string } | undefined;
      maxMessageBytes: number;
      maxStartupBytes: number;
      idleTimeoutMs: number;
      /** undefined: the upstream's own statement_timeout applies. */
      statementTimeoutMs: number | undefined;
    };
    http: HostPort;
    /** The HTTP reverse proxy; undefined when neither gateway.httpProxy nor an http connection is configured. */
    httpProxy: HttpProxyListener | undefined;
    drainTimeoutMs: number;
    /** Never more than drainTimeoutMs. */
    drainDelayMs: number;
  };
  connections: Connection[];
  recording: { nodeKeyFile: string; trustedNodeKeys: Record<string, string> };
  kafka: { brokers: string[]; clientId: string; topic: string; cancelTopic: string; mcpToolsTopic: string; partitions: number; ackTimeoutMs: number; maxInFlightBytes: number; lingerMs: number; producers: number; maxRecordBytes: number };
  clickhouse: ParsedConfig['clickhouse'];
  materializer: { groupId: string; http: HostPort; batchSize: number; flushIntervalMs: number; idleTimeoutMs: number; sealKeyFile: string };
  temporal: { address: string; namespace: string; taskQueue: string; http: HostPort };
  policy: { bundleFile: string; reloadIntervalMs: number };
  api: {
    listen: HostPort;
    http: HostPort;
    requireToken: boolean;
    socGroups: string[];
    token: string | undefined;
    /** The console and its JSON API over HTTPS; undefined: not served. */
    web: { listen: HostPort; tls: { certFile: string; keyFile: string } } | undefined;
    /** The gateway nodes' health and metrics endpoints, for the dashboard. */
    gatewayNodes: { id: string; url: string }[];
  };
  approvals: Approvals;
  access: Access;
  /** undefined: no human login configured. */
  login: LoginConfig | undefined;
  /** Groups per API role; roles.soc includes api.socGroups. */
  roles: Roles;
  retention: Retention;
}

/** One person who may answer approvals: an identity, its groups, and its Slack user if any. */
export interface Approver {
  subject: string;
  groups: string[];
  slackUserId: string | undefined;
}

/** Slack settings with secrets resolved; never logged or recorded. */
export interface SlackApprovals {
  botToken: string;
  signingSecret: string;
  channel: string;
  /** Web API base URL, ending in '/'. */
  apiUrl: string;
  /** Where the approvals worker serves POST /slack/interactivity. */
  interactivity: HostPort;
}

export interface Approvals {
  timeoutMs: number;
  httpHoldMs: number;
  escalation: { afterMs: number; groups: string[] } | undefined;
  approvers: Approver[];
  /** undefined: approvers answer through the CLI only. */
  slack: SlackApprovals | undefined;
}

export interface LoadOptions {
  /** Environment used for `env:` secrets and CHAPERONE_* defaults. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Overrides applied after parsing the file (e.g. from command-line flags). */
  nodeId?: string;
}

const optionalDuration = (value: string | number | undefined, field: string): number | undefined => (value === undefined ? undefined : parseDuration(value, field));

function hostPort(value: string): HostPort {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

function resolveSecret(
  s: SecretInput,
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
      throw new ConfigError(`${field}: cannot read secret file ${s.file}: ${errorMessage(err)}`);
    }
  }
  const v = env[s.env!];
  if (v === undefined) throw new ConfigError(`${field}: environment variable ${s.env} is not set`);
  return v;
}

type SecretInput = { value?: string | undefined; file?: string | undefined; env?: string | undefined } | undefined;
type RawHttpUpstream = NonNullable<ParsedConfig['connections'][number]['http']>;

/**
 * Bodies that are readable (JSON, text, YAML, XML, forms, OCI/Docker manifests) are stored in
 * full up to maxStoredBytes; packs, layers and other binary bodies as size + digest.
 */
const BUILTIN_BODY_RULES: { pattern: string; store: BodyStore }[] = [
  'application/json',
  'application/*+json',
  'text/*',
  'application/yaml',
  'application/x-yaml',
  'application/xml',
  'application/*+xml',
  'application/x-www-form-urlencoded',
  'application/x-git-upload-pack-request',
].map((pattern) => ({ pattern, store: 'full' as const }));

function compileHttpUpstream(h: RawHttpUpstream, field: string, path: (p: string) => string, secret: (s: SecretInput, f: string) => string | undefined): HttpUpstream {
  const u = new URL(h.upstream);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${field}.upstream: only http:// and https:// upstreams are supported, got ${u.protocol}`);
  if (u.username || u.password) throw new ConfigError(`${field}.upstream: put credentials in ${field}.credentials, not in the URL`);
  if (u.search || u.hash) throw new ConfigError(`${field}.upstream: a base URL has no query or fragment`);
  if (h.hosts.length === 0 && h.pathPrefix === undefined) throw new ConfigError(`${field}: give hosts and/or pathPrefix so requests can be routed to it`);
  const prefix = h.pathPrefix === undefined ? undefined : h.pathPrefix.endsWith('/') ? h.pathPrefix : `${h.pathPrefix}/`;
  if (prefix && /(^|\/)\.\.?(\/|$)|%/.test(prefix)) throw new ConfigError(`${field}.pathPrefix: no dot segments or percent-escapes in a route prefix`);
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const c = h.credentials;
  let credentials: HttpCredentials;
  switch (c.type) {
    case 'none':
      credentials = c;
      break;
    case 'bearer':
      credentials = { type: 'bearer', token: secret(c.token, `${field}.credentials.token`)! };
      break;
    case 'basic':
      credentials = { type: 'basic', username: c.username, password: secret(c.password, `${field}.credentials.password`)! };
      break;
    case 'header':
      credentials = { type: 'header', name: c.name, value: secret(c.value, `${field}.credentials.value`)! };
      break;
    case 'kubernetesServiceAccount':
      credentials = { type: c.type, tokenFile: path(c.tokenFile), reloadIntervalMs: parseDuration(c.reloadInterval, `${field}.credentials.reloadInterval`) };
      break;
    case 'registryToken':
      credentials = { type: c.type, username: c.username, password: secret(c.password, `${field}.credentials.password`) };
      break;
    case 'oauthClientCredentials':
      credentials = { type: c.type, tokenUrl: c.tokenUrl, clientId: c.clientId, clientSecret: secret(c.clientSecret, `${field}.credentials.clientSecret`)!, scope: c.scope, resource: c.resource, refreshBeforeMs: parseDuration(c.refreshBefore, `${field}.credentials.refreshBefore`) };
      break;
  }
  let ca: string | undefined;
  if (h.tls?.caFile) {
    try {
      ca = readFileSync(path(h.tls.caFile), 'utf8');
    } catch (err) {
      throw new ConfigError(`${field}.tls.caFile: cannot read ${h.tls.caFile}: ${errorMessage(err)}`);
    }
  }
  return {
    url: { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), port, basePath: u.pathname.replace(/\/+$/, ''), host: u.host },
    kind: h.kind,
    hosts: h.hosts.map((x) => x.toLowerCase()),
    pathPrefix: prefix,
    stripPrefix: h.stripPrefix,
    preserveHost: h.preserveHost,
    forwardAgentHeaders: h.forwardAgentHeaders,
    tls: { ca, serverName: h.tls?.serverName, rejectUnauthorized: !(h.tls?.insecureSkipVerify ?? false) },
    credentials,
    bodies: {
      maxStoredBytes: parseSize(h.bodies.maxStoredBytes, `${field}.bodies.maxStoredBytes`),
      rules: [...Object.entries(h.bodies.byContentType).map(([pattern, store]) => ({ pattern: pattern.toLowerCase(), store })), ...BUILTIN_BODY_RULES],
      fallback: h.bodies.default,
    },
    responseTimeoutMs: parseDuration(h.responseTimeout, `${field}.responseTimeout`),
  };
}

/** Two connections claiming the same host + prefix would make routing depend on file order. */
function checkHttpRoutes(connections: Connection[]): void {
  const seen = new Map<string, string>();
  for (const c of connections) {
    if (!c.http) continue;
    const hosts = c.http.hosts.length > 0 ? c.http.hosts : ['*'];
    for (const host of hosts) {
      const key = `${host} ${c.http.pathPrefix ?? '/'}`;
      const other = seen.get(key);
      if (other) throw new ConfigError(`connections ${other} and ${c.name} both route host ${host} path ${c.http.pathPrefix ?? '/'}; give one of them another host or pathPrefix`);
      seen.set(key, c.name);
    }
  }
}

function compileHttpProxy(
  p: ParsedConfig['gateway']['httpProxy'] & object,
  nodeId: string,
  pgTls: { certFile: string; keyFile: string } | undefined,
  path: (p: string) => string,
): HttpProxyListener {
  const tls = p.tls ? { certFile: path(p.tls.certFile), keyFile: path(p.tls.keyFile) } : pgTls;
  if (!tls && !p.plaintext)
    throw new ConfigError('gateway.httpProxy: agents send their tokens in Authorization headers, so the listener needs TLS: give gateway.httpProxy.tls (or gateway.postgres.tls), or set plaintext: true behind a TLS-terminating balancer');
  return {
    listen: hostPort(p.listenByNode[nodeId] ?? p.listen),
    tls: p.plaintext ? undefined : tls,
    maxHeaderBytes: parseSize(p.maxHeaderBytes, 'gateway.httpProxy.maxHeaderBytes'),
    maxHeaderFields: p.maxHeaderFields,
    maxBodyBytes: parseSize(p.maxBodyBytes, 'gateway.httpProxy.maxBodyBytes'),
    headersTimeoutMs: parseDuration(p.headersTimeout, 'gateway.httpProxy.headersTimeout'),
    keepAliveTimeoutMs: parseDuration(p.keepAliveTimeout, 'gateway.httpProxy.keepAliveTimeout'),
    idleTimeoutMs: parseDuration(p.idleTimeout, 'gateway.httpProxy.idleTimeout'),
    h2: { enabled: p.h2.enabled && !p.plaintext, maxConcurrentStreams: p.h2.maxConcurrentStreams, maxHeaderListSize: parseSize(p.h2.maxHeaderListSize, 'gateway.httpProxy.h2.maxHeaderListSize') },
  };
}

function compileApprovals(a: ParsedConfig['approvals'], secret: (s: SecretInput, f: string) => string | undefined): Approvals {
  const timeoutMs = parseDuration(a.timeout, 'approvals.timeout');
  if (timeoutMs <= 0) throw new ConfigError('approvals.timeout must be longer than 0');
  const escalation = a.escalation && { afterMs: parseDuration(a.escalation.after, 'approvals.escalation.after'), groups: a.escalation.groups };
  if (escalation && (escalation.afterMs <= 0 || escalation.afterMs >= timeoutMs))
    throw new ConfigError(`approvals.escalation.after must be between 0 and approvals.timeout (${a.timeout}), or the escalation could never happen`);
  const subjects = new Set<string>();
  const slackUsers = new Set<string>();
  a.approvers.forEach((p, i) => {
    if (subjects.has(p.subject)) throw new ConfigError(`approvals.approvers[${i}]: ${p.subject} is listed twice; merge its groups into one entry`);
    subjects.add(p.subject);
    if (p.slackUserId === undefined) return;
    // One Slack user acting as two identities would make a click's author ambiguous.
    if (slackUsers.has(p.slackUserId)) throw new ConfigError(`approvals.approvers[${i}]: Slack user ${p.slackUserId} is mapped to two identities`);
    slackUsers.add(p.slackUserId);
  });
  const s = a.slack;
  return {
    timeoutMs,
    httpHoldMs: parseDuration(a.httpHold, 'approvals.httpHold'),
    escalation,
    approvers: a.approvers.map((p) => ({ subject: p.subject, groups: p.groups, slackUserId: p.slackUserId })),
    slack: s && {
      botToken: secret(s.botToken, 'approvals.slack.botToken')!,
      signingSecret: secret(s.signingSecret, 'approvals.slack.signingSecret')!,
      channel: s.channel,
      apiUrl: s.apiUrl.endsWith('/') ? s.apiUrl : `${s.apiUrl}/`,
      interactivity: hostPort(s.interactivity),
    },
  };
}

type Secret = (s: SecretInput, field: string) => string | undefined;
type Path = (p: string) => string;

/** The file's content checked against the schema, or a ConfigError listing every issue. */
function parseRaw(raw: unknown, configFile: string | undefined): ParsedConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration${configFile ? ` in ${configFile}` : ''}:\n${lines.join('\n')}`);
}

/** Each connection with the upstream block of its protocol compiled (a block of the other protocol is ignored). */
function compileConnections(c: ParsedConfig, path: Path, secret: Secret): Connection[] {
  const names = new Set<string>();
  const connections = c.connections.map((conn, i): Connection => {
    if (names.has(conn.name)) throw new ConfigError(`connections[${i}]: duplicate connection name "${conn.name}"`);
    names.add(conn.name);
    if (conn.protocol === 'http') {
      if (!conn.http) throw new ConfigError(`connections[${i}] (${conn.name}): protocol http needs an "http:" upstream block`);
      return { name: conn.name, protocol: 'http', labels: conn.labels, http: compileHttpUpstream(conn.http, `connections[${i}] (${conn.name}).http`, path, secret) };
    }
    const pg = conn.postgres;
    if (!pg) throw new ConfigError(`connections[${i}] (${conn.name}): protocol postgres needs a "postgres:" upstream block`);
    return {
      name: conn.name,
      protocol: 'postgres',
      labels: conn.labels,
      postgres: {
        host: pg.host,
        port: pg.port,
        database: pg.database,
        user: pg.user,
        password: secret(pg.password, `connections[${i}].postgres.password`),
        tls: pg.tls,
        statementTimeoutMs: optionalDuration(pg.statementTimeout ?? c.gateway.postgres.statementTimeout, `connections[${i}].postgres.statementTimeout`),
      },
    };
  });
  checkHttpRoutes(connections);
  return connections;
}

function compileGateway(c: ParsedConfig, nodeId: string, connections: Connection[], path: Path): Config['gateway'] {
  const pgl = c.gateway.postgres;
  const pgTls = pgl.tls && { certFile: path(pgl.tls.certFile), keyFile: path(pgl.tls.keyFile) };
  const wantsProxy = c.gateway.httpProxy !== undefined || connections.some((conn) => conn.protocol === 'http');
  const drainTimeoutMs = parseDuration(c.gateway.drainTimeout, 'gateway.drainTimeout');
  return {
    postgres: {
      listen: hostPort(pgl.listen),
      tls: pgTls,
      maxMessageBytes: parseSize(pgl.maxMessageBytes, 'gateway.postgres.maxMessageBytes'),
      maxStartupBytes: parseSize(pgl.maxStartupBytes, 'gateway.postgres.maxStartupBytes'),
      idleTimeoutMs: parseDuration(pgl.idleTimeout, 'gateway.postgres.idleTimeout'),
      statementTimeoutMs: optionalDuration(pgl.statementTimeout, 'gateway.postgres.statementTimeout'),
    },
    http: hostPort(c.gateway.http),
    httpProxy: wantsProxy ? compileHttpProxy(c.gateway.httpProxy ?? httpProxyListenerSchema.parse({}), nodeId, pgTls, path) : undefined,
    drainTimeoutMs,
    drainDelayMs: Math.min(parseDuration(c.gateway.drainDelay, 'gateway.drainDelay'), drainTimeoutMs),
  };
}

function compileKafka(k: ParsedConfig['kafka']): Config['kafka'] {
  return {
    brokers: k.brokers,
    clientId: k.clientId,
    topic: k.topic,
    cancelTopic: k.cancelTopic,
    mcpToolsTopic: k.mcpToolsTopic,
    partitions: k.partitions,
    ackTimeoutMs: parseDuration(k.ackTimeout, 'kafka.ackTimeout'),
    maxInFlightBytes: parseSize(k.maxInFlightBytes, 'kafka.maxInFlightBytes'),
    lingerMs: parseDuration(k.linger, 'kafka.linger'),
    producers: k.producers,
    maxRecordBytes: parseSize(k.maxRecordBytes, 'kafka.maxRecordBytes'),
  };
}

function compileMaterializer(c: ParsedConfig, path: Path): Config['materializer'] {
  const m = c.materializer;
  return {
    groupId: m.groupId,
    http: hostPort(m.http),
    batchSize: m.batchSize,
    flushIntervalMs: parseDuration(m.flushInterval, 'materializer.flushInterval'),
    idleTimeoutMs: parseDuration(m.idleTimeout, 'materializer.idleTimeout'),
    sealKeyFile: path(m.sealKeyFile ?? c.recording.nodeKeyFile),
  };
}

function compileApi(a: ParsedConfig['api'], path: Path, secret: Secret, env: NodeJS.ProcessEnv): Config['api'] {
  return {
    listen: hostPort(a.listen),
    http: hostPort(a.http),
    requireToken: a.requireToken,
    socGroups: a.socGroups,
    token: secret(a.token, 'api.token') ?? (env.CHAPERONE_TOKEN?.trim() || undefined),
    web: a.web && { listen: hostPort(a.web.listen), tls: { certFile: path(a.web.tls.certFile), keyFile: path(a.web.tls.keyFile) } },
    gatewayNodes: a.gatewayNodes,
  };
}

/** Fills defaults, converts units, resolves paths and secrets; throws ConfigError on invalid combinations. */
export function compileOptions(raw: unknown, baseDir: string, opts: LoadOptions = {}, configFile?: string): Config {
  const env = opts.env ?? process.env;
  const c = parseRaw(raw, configFile);
  const path: Path = (p) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const secret: Secret = (s, field) => resolveSecret(s, baseDir, env, field);
  const nodeId = opts.nodeId ?? c.node.id ?? `${hostname()}-${process.pid}`;
  const connections = compileConnections(c, path, secret);
  return {
    configFile,
    nodeId,
    logLevel: c.logging.level,
    identity: compileIdentity(c.identity, path),
    gateway: compileGateway(c, nodeId, connections, path),
    connections,
    recording: {
      nodeKeyFile: path(c.recording.nodeKeyFile),
      trustedNodeKeys: Object.fromEntries(Object.entries(c.recording.trustedNodeKeys).map(([k, v]) => [k, path(v)])),
    },
    kafka: compileKafka(c.kafka),
    clickhouse: c.clickhouse,
    materializer: compileMaterializer(c, path),
    temporal: { address: c.temporal.address, namespace: c.temporal.namespace, taskQueue: c.temporal.taskQueue, http: hostPort(c.temporal.http) },
    policy: { bundleFile: path(c.policy.bundleFile), reloadIntervalMs: parseDuration(c.policy.reloadInterval, 'policy.reloadInterval') },
    api: compileApi(c.api, path, secret, env),
    approvals: compileApprovals(c.approvals, secret),
    access: compileAccess(c.access, connections.map((conn) => conn.name)),
    login: compileLogin(c.login),
    roles: { ...c.roles, soc: [...new Set([...c.roles.soc, ...c.api.socGroups])] },
    retention: compileRetention(c.retention),
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
      `cannot read configuration ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}. ` +
        'Pass --config <file> or set CHAPERONE_CONFIG (deploy/local writes one to deploy/local/.run/chaperone.yaml).',
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${errorMessage(err)}`);
  }
  return compileOptions(raw, dirname(path), opts, path);
}

/** Where the configuration would be read from, for messages. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CHAPERONE_CONFIG ?? 'chaperone.yaml');
}
