import { z } from 'zod';
import { accessSchema, identitySchema, loginSchema, retentionSchema, rolesSchema } from './identity.js';

const duration = z.union([z.string(), z.number().nonnegative()]);
const size = z.union([z.string(), z.number().nonnegative()]);
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:6432');
/** A secret given inline, from a file, or from an environment variable (exactly one). */
const secret = z
  .object({ value: z.string().optional(), file: z.string().optional(), env: z.string().optional() })
  .strict()
  .refine((s) => [s.value, s.file, s.env].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of value, file or env',
  });

export const postgresUpstreamSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string(),
    user: z.string(),
    password: secret.optional(),
    /** Connect to the upstream over TLS. @default false */
    tls: z.boolean().default(false),
    /** statement_timeout of this upstream's sessions; overrides gateway.postgres.statementTimeout (`0` turns it off). */
    statementTimeout: duration.optional(),
  })
  .strict();

/**
 * What the gateway sends upstream in place of the agent's Authorization (the agent never holds
 * these). `kubernetesServiceAccount` re-reads its token file, as projected tokens rotate;
 * `registryToken` follows the Docker/OCI token flow (RFC 6750 challenge from the registry,
 * token fetched from its realm with the username/password, cached per scope).
 */
export const httpCredentialsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer'), token: secret }).strict(),
  z.object({ type: z.literal('basic'), username: z.string(), password: secret }).strict(),
  z.object({ type: z.literal('header'), name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name (RFC 9110 token)'), value: secret }).strict(),
  z
    .object({
      type: z.literal('kubernetesServiceAccount'),
      /** @default /var/run/secrets/kubernetes.io/serviceaccount/token */
      tokenFile: z.string().default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
      /** How often the (rotating) token file is re-read. @default 60s */
      reloadInterval: duration.default('60s'),
    })
    .strict(),
  z.object({ type: z.literal('registryToken'), username: z.string().optional(), password: secret.optional() }).strict(),
  /**
   * OAuth 2.0 client credentials (RFC 6749 §4.4): the gateway gets an access token from the
   * token endpoint with its client id and secret (HTTP Basic, §2.3.1), caches it and renews it
   * before it expires; agents never hold it.
   */
  z
    .object({
      type: z.literal('oauthClientCredentials'),
      tokenUrl: z.string().url(),
      clientId: z.string().min(1),
      clientSecret: secret,
      /** Space-separated scopes to ask for. */
      scope: z.string().optional(),
      /** RFC 8707 resource indicator (e.g. the MCP server's URL), when the server wants one. */
      resource: z.string().url().optional(),
      /** Renew a token this long before it expires. @default 60s */
      refreshBefore: duration.default('60s'),
    })
    .strict(),
]);

/** How much of a body the recording keeps: all of it, only size + SHA-256, or nothing but the size. */
const bodyStore = z.enum(['full', 'digest', 'none']);

export const httpUpstreamSchema = z
  .object({
    /** Base URL of the upstream, e.g. http://127.0.0.1:18080 or https://registry.internal/ (a path is prepended). */
    upstream: z.string().url(),
    /** Which parser turns requests into commands. @default rest */
    kind: z.enum(['rest', 'git', 'oci', 'k8s', 'mcp']).default('rest'),
    /** Route requests whose Host (without port) is one of these. */
    hosts: z.array(z.string().min(1)).default([]),
    /** Route requests under this path prefix, e.g. /git/ (longest prefix wins). */
    pathPrefix: z.string().regex(/^\/[^?#]*$/, 'a path starting with /').optional(),
    /** Remove the prefix before forwarding. @default true */
    stripPrefix: z.boolean().default(true),
    /** Send the agent's Host header upstream instead of the upstream URL's. @default false */
    preserveHost: z.boolean().default(false),
    /**
     * Agent-sent credential fields passed upstream (`cookie`, `proxy-authorization`); dropped
     * otherwise. Authorization (the agent's token) and the field the credentials are injected
     * in are never forwarded. @default []
     */
    forwardAgentHeaders: z.array(z.enum(['cookie', 'proxy-authorization'])).default([]),
    tls: z
      .object({
        /** PEM CA bundle the upstream certificate must chain to (default: the system roots). */
        caFile: z.string().optional(),
        serverName: z.string().optional(),
        /** @default false */
        insecureSkipVerify: z.boolean().default(false),
      })
      .strict()
      .optional(),
    credentials: httpCredentialsSchema.default({ type: 'none' }),
    bodies: z
      .object({
        /** Largest body prefix stored in full; the rest is kept as size + digest. @default 1MiB */
        maxStoredBytes: size.default('1MiB'),
        /** Content type (with `*` wildcards, parameters ignored) → storage; first match wins, then the built-in rules. */
        byContentType: z.record(z.string(), bodyStore).default({}),
        /** Storage for content types no rule matches. @default digest */
        default: bodyStore.default('digest'),
      })
      .strict()
      .default({ maxStoredBytes: '1MiB', byContentType: {}, default: 'digest' }),
    /** Longest wait for the upstream's response head. @default 5m */
    responseTimeout: duration.default('5m'),
  })
  .strict();

export const connectionSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'connection names use letters, digits, . _ -'),
    protocol: z.enum(['postgres', 'http']),
    labels: z.record(z.string(), z.string()).default({}),
    postgres: postgresUpstreamSchema.optional(),
    http: httpUpstreamSchema.optional(),
  })
  .strict();

/** The HTTP reverse-proxy listener (`gateway.http` is the ops endpoint, hence the name). */
export const httpProxyListenerSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:8443'),
    /** Per-node listen address by node id (local stacks run several nodes from one file). */
    listenByNode: z.record(z.string(), hostPort).default({}),
    /** Server certificate; absent: gateway.postgres.tls is used. */
    tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict().optional(),
    /** Serve plain HTTP (behind a TLS-terminating balancer, or benchmarks on loopback). @default false */
    plaintext: z.boolean().default(false),
    /** Largest request head (request line + headers, every byte counted; HTTP/1.1 and HTTP/2). @default 16KiB */
    maxHeaderBytes: size.default('16KiB'),
    /** Most header fields in a request head (and in its trailers); more gets 431. @default 100 */
    maxHeaderFields: z.number().int().min(1).max(1000).default(100),
    /** Largest request body (git packs and image layers are large). @default 10GiB */
    maxBodyBytes: size.default('10GiB'),
    /** Time for a client to send a complete request head. @default 30s */
    headersTimeout: duration.default('30s'),
    /** Idle keep-alive connections are closed after this. @default 60s */
    keepAliveTimeout: duration.default('60s'),
    /** A connection with no bytes either way for this long is closed. @default 10m */
    idleTimeout: duration.default('10m'),
    /**
     * HTTP/2 (RFC 9113) over TLS for clients that offer `h2` in ALPN (curl, kubectl, Go and
     * registry clients); the others keep HTTP/1.1. Upstreams are always spoken to in HTTP/1.1.
     */
    h2: z
      .object({
        /** Offer `h2` in ALPN. @default true */
        enabled: z.boolean().default(true),
        /** SETTINGS_MAX_CONCURRENT_STREAMS: requests in flight on one connection (RFC 9113 §6.5.2). @default 100 */
        maxConcurrentStreams: z.number().int().min(1).max(2 ** 31 - 1).default(100),
        /** SETTINGS_MAX_HEADER_LIST_SIZE, advertised and enforced (431 beyond): names + values + 32 bytes a field. @default 16KiB */
        maxHeaderListSize: size.default('16KiB'),
      })
      .strict()
      .default({ enabled: true, maxConcurrentStreams: 100, maxHeaderListSize: '16KiB' }),
  })
  .strict();

/**
 * Just-in-time approvals: who may approve (an identity, its groups, its Slack user), how long
 * requests wait, escalation, and Slack. Without `slack` approvers answer with
 * `chaperone approvals approve|deny` only.
 */
export const approvalsSchema = z
  .object({
    /** Longest time approvers get to answer; a policy's shorter ttlMs wins. @default 15m */
    timeout: duration.default('15m'),
    /** Longest time an HTTP request is held before `403` with the approval id and Retry-After. @default 25s */
    httpHold: duration.default('25s'),
    /** After `after` without an answer the prompt is escalated and these groups may answer too. */
    escalation: z.object({ after: duration, groups: z.array(z.string().min(1)).min(1) }).strict().optional(),
    /** The people who may answer, each an identity with groups; `slackUserId` maps their Slack clicks to it. */
    approvers: z
      .array(
        z
          .object({
            subject: z.string().min(1),
            groups: z.array(z.string().min(1)).default([]),
            slackUserId: z.string().regex(/^[UW][A-Z0-9]+$/, 'a Slack user id such as U0123ABCD').optional(),
          })
          .strict(),
      )
      .default([]),
    slack: z
      .object({
        /** Bot token (xoxb-…) for chat.postMessage, chat.update, chat.postEphemeral and views.open. */
        botToken: secret,
        /** The app's signing secret: verifies interactivity requests (X-Slack-Signature). */
        signingSecret: secret,
        /** Channel id (or name) the prompts are posted to. */
        channel: z.string().min(1),
        /** Web API base URL; tests point it at a local stand-in. @default https://slack.com/api/ */
        apiUrl: z.string().url().default('https://slack.com/api/'),
        /** Where the approvals worker serves the interactivity endpoint (POST /slack/interactivity). @default 127.0.0.1:9402 */
        interactivity: hostPort.default('127.0.0.1:9402'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    node: z.object({ id: z.string().optional() }).strict().default({}),
    logging: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).strict().default({ level: 'info' }),
    identity: identitySchema,
    gateway: z
      .object({
        postgres: z
          .object({
            listen: hostPort.default('127.0.0.1:6432'),
            tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict().optional(),
            /** Largest protocol message accepted from a client. @default 16MiB */
            maxMessageBytes: size.default('16MiB'),
            /** Largest StartupMessage accepted. @default 10000 */
            maxStartupBytes: size.default(10000),
            idleTimeout: duration.default('30m'),
            /**
             * statement_timeout set on every upstream session at login (a StartupMessage
             * parameter), so PostgreSQL cancels a runaway statement with 57014. Absent: the
             * upstream's own setting applies. A connection's postgres.statementTimeout overrides it.
             */
            statementTimeout: duration.optional(),
          })
          .strict()
          .default({ listen: '127.0.0.1:6432', maxMessageBytes: '16MiB', maxStartupBytes: 10000, idleTimeout: '30m' }),
        /** Health and metrics endpoint of the node. */
        http: hostPort.default('127.0.0.1:9101'),
        /** The HTTP reverse proxy; on when this block or an http connection is configured. */
        httpProxy: httpProxyListenerSchema.optional(),
        drainTimeout: duration.default('30s'),
        /**
         * How long a draining node keeps accepting after /healthz turns 503, so the load
         * balancer's health checks take it out of rotation first (haproxy in deploy/local: every
         * 2 s, out after 2 failures). Part of drainTimeout, which counts from SIGTERM. @default 5s
         */
        drainDelay: duration.default('5s'),
      })
      .strict()
      .default({ postgres: { listen: '127.0.0.1:6432', maxMessageBytes: '16MiB', maxStartupBytes: 10000, idleTimeout: '30m' }, http: '127.0.0.1:9101', drainTimeout: '30s', drainDelay: '5s' }),
    connections: z.array(connectionSchema).default([]),
    recording: z
      .object({
        /** Ed25519 private key (PKCS#8 PEM) this node seals sessions with. */
        nodeKeyFile: z.string(),
        /** Public keys (PEM files) trusted when verifying seals, by node id. */
        trustedNodeKeys: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
    kafka: z
      .object({
        brokers: z.array(hostPort).min(1).default(['127.0.0.1:9092']),
        clientId: z.string().default('chaperone'),
        topic: z.string().default('chaperone.sessions.v1'),
        /**
         * Where a gateway node that receives a PostgreSQL CancelRequest tells the others, so the
         * node holding a statement for approval ends the wait. One partition is plenty.
         * @default chaperone.cancels.v1
         */
        cancelTopic: z.string().default('chaperone.cancels.v1'),
        /**
         * The MCP tool registry (compacted): the pinned tool definitions of every MCP server, shared
         * by the gateway nodes and the API (`chaperone mcp tools`).
         * @default chaperone.mcp-tools.v1
         */
        mcpToolsTopic: z.string().default('chaperone.mcp-tools.v1'),
        partitions: z.number().int().min(1).default(6),
        /** How long a command may wait for Kafka's acknowledgement before its session ends. @default 10s */
        ackTimeout: duration.default('10s'),
        /** Unacknowledged upstream→client bytes allowed per session before it pauses. @default 8MiB */
        maxInFlightBytes: size.default('8MiB'),
        /**
         * How long recorded frames nobody waits for (results flowing to the agent) may wait to be
         * merged into the next publish, usually the next command's: one broker round trip per
         * statement instead of two. Commands never wait for it. 0 publishes every frame at once. @default 5ms
         */
        linger: duration.default('5ms'),
        /**
         * Idempotent producers per gateway node, each with one produce request in flight (a session
         * always uses the same one). One merges every session's publishes into the fewest, largest
         * requests, which is what a CPU-bound node needs (loadtest/README.md "Produce lanes": 15–20%
         * less gateway CPU per statement than 2 at 8 and 32 pgbench clients); more only help a node
         * with CPU to spare whose requests wait on a slow broker. @default 1
         */
        producers: z.number().int().min(1).max(16).default(1),
        /**
         * Largest Kafka record a session publish makes (the session's consecutive events; bulk
         * results fill records up to this). Keep it under the topic's max.message.bytes (the
         * broker's message.max.bytes, 1 MB by default); one event larger than it still goes alone
         * in a record of its own. @default 768KiB
         */
        maxRecordBytes: size.default('768KiB'),
      })
      .strict()
      .default({ brokers: ['127.0.0.1:9092'], clientId: 'chaperone', topic: 'chaperone.sessions.v1', cancelTopic: 'chaperone.cancels.v1', mcpToolsTopic: 'chaperone.mcp-tools.v1', partitions: 6, ackTimeout: '10s', maxInFlightBytes: '8MiB', linger: '5ms', producers: 1, maxRecordBytes: '768KiB' }),
    clickhouse: z
      .object({
        url: z.string().url().default('http://127.0.0.1:8123'),
        database: z.string().default('chaperone'),
        username: z.string().default('default'),
        password: z.string().default(''),
        /** Read-only user for `chaperone sql`; falls back to the main user when absent. */
        readonly: z.object({ username: z.string(), password: z.string().default('') }).strict().optional(),
      })
      .strict()
      .default({ url: 'http://127.0.0.1:8123', database: 'chaperone', username: 'default', password: '' }),
    materializer: z
      .object({
        groupId: z.string().default('chaperone-materializer'),
        http: hostPort.default('127.0.0.1:9201'),
        batchSize: z.number().int().min(1).default(5000),
        flushInterval: duration.default('500ms'),
        /**
         * A session with no event for this long and no SessionEnded (its gateway died) is sealed
         * `incomplete`. Longer than gateway.postgres.idleTimeout, so a quiet live session is not
         * taken for a dead one. @default 40m
         */
        idleTimeout: duration.default('40m'),
        /** Ed25519 private key (PKCS#8 PEM) the incomplete seals are signed with. @default recording.nodeKeyFile */
        sealKeyFile: z.string().optional(),
      })
      .strict()
      .prefault({}),
    temporal: z
      .object({
        address: hostPort.default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('chaperone-approvals'),
        /** Health and metrics endpoint of the approvals worker. */
        http: hostPort.default('127.0.0.1:9401'),
      })
      .strict()
      .default({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'chaperone-approvals', http: '127.0.0.1:9401' }),
    policy: z
      .object({
        /** OPA Wasm bundle (`opa build -t wasm` output, a .tar.gz). */
        bundleFile: z.string(),
        /** How often the bundle file is checked for a new revision. @default 5s */
        reloadInterval: duration.default('5s'),
      })
      .strict(),
    api: z
      .object({
        listen: hostPort.default('127.0.0.1:50051'),
        http: hostPort.default('127.0.0.1:9301'),
        /** Every call must carry a valid identity token (Bearer). @default true */
        requireToken: z.boolean().default(true),
        /** Groups allowed to Query, Replay and Verify (listing sessions needs any valid token). @default ['soc'] */
        socGroups: z.array(z.string().min(1)).default(['soc']),
        /** Token the CLI presents to the API. @default $CHAPERONE_TOKEN; without either, the CLI mints a short-lived one when it can read identity.signingKeyFile */
        token: secret.optional(),
        /**
         * The web console and its JSON API (/api/v1) over HTTPS; absent: no console. TLS is required:
         * the console's session cookie is `Secure`.
         */
        web: z
          .object({
            listen: hostPort.default('127.0.0.1:9443'),
            tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict(),
          })
          .strict()
          .optional(),
        /**
         * The gateway nodes whose health the console's dashboard shows: each node's id and the base
         * URL of its health and metrics endpoint (its gateway.http, e.g. http://10.0.0.5:9201). @default []
         */
        gatewayNodes: z.array(z.object({ id: z.string().min(1), url: z.string().url() }).strict()).default([]),
      })
      .strict()
      .prefault({}),
    // prefault: the empty block goes through the schema, so its defaults apply.
    approvals: approvalsSchema.prefault({}),
    /** Which identities may open which connection. */
    access: accessSchema.prefault({}),
    /** How people log in (chaperone login); the API accepts the provider's ID tokens. */
    login: loginSchema.optional(),
    /** Groups that make a person soc, approver or admin on the API. */
    roles: rolesSchema.prefault({}),
    /** How long ClickHouse keeps recordings. */
    retention: retentionSchema.prefault({}),
  })
  .strict();

/** The configuration file as written (before defaults are compiled). */
export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
