/**
 * Test harness for the HTTP listener (used by *.test.ts only): a real listener on loopback, real
 * upstream HTTP servers, a real token issuer/verifier, and an in-memory event sink.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileOptions, type RawConfig } from '@chaperone/config';
import type { ChainedEvent, EventBody, Frame } from '@chaperone/events';
import { TokenIssuer, TokenVerifier } from '@chaperone/identity';
import { createLogger, createRegistry } from '@chaperone/observability';
import type { ApprovalGate } from '../../approvals/index.js';
import type { McpToolPins } from './analyze-mcp.js';
import type { PolicyDecision, PolicyInput } from '../../policy/index.js';
import type { EventSink } from '../../recording/index.js';
import { HttpListener } from './listener.js';
import { createHttpMetrics } from './metrics.js';

/** The Kubernetes API stand-in of deploy/local, run by the kubectl tests on a port of their own. */
export const K8S_STANDIN = fileURLToPath(new URL('../../../../../../deploy/local/k8s-standin/server.mjs', import.meta.url));

/** kubectl and openssl are on PATH (deploy/local/install puts them there). */
export function hasKubectl(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v kubectl && command -v openssl'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the Kubernetes API stand-in on a random loopback port with a service-account token in
 * `dir`, and the k8s connection that reaches it with that token (for startHarness).
 */
export async function startK8sStandin(dir: string): Promise<{ process: ChildProcess; connection: NonNullable<RawConfig['connections']>[number] }> {
  const tokenFile = join(dir, 'sa-token');
  writeFileSync(tokenFile, 'sa-token-for-the-upstream\n');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('node', [K8S_STANDIN, '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
  return { process: child, connection: { name: 'cluster', protocol: 'http', http: { upstream: `http://127.0.0.1:${port}`, kind: 'k8s', pathPrefix: '/k8s/', credentials: { type: 'kubernetesServiceAccount', tokenFile } } } };
}

/** The recorded frames, of one message type when given. */
export function frames(events: EventBody[], type?: string): Frame[] {
  return events.filter((e): e is Frame => e.type === 'Frame' && (type === undefined || e.messageType === type));
}

/** The events recorded so far, once `pred` holds for them or `ms` passed. */
export async function settle(h: Harness, pred: (e: EventBody[]) => boolean, ms = 3000): Promise<EventBody[]> {
  const until = Date.now() + ms;
  while (Date.now() < until && !pred(h.sink.bodies())) await new Promise((r) => setTimeout(r, 20));
  return h.sink.bodies();
}

/** A plain HTTP GET without keep-alive: status, headers and body as text. */
export function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { headers, agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    r.on('error', reject);
    r.end();
  });
}

export class MemorySink implements EventSink {
  healthy = true;
  published: ChainedEvent[] = [];
  delayMs = 0;
  async publish(_id: string, events: ChainedEvent[]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.published.push(...events);
  }
  bodies(): EventBody[] {
    return this.published.map((e) => e.event.body);
  }
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

export interface Upstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  server: Server;
}

/** An upstream that records every request it receives, then lets `handler` answer. */
export async function startUpstream(handler: (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => void): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      seen.push(r);
      handler(r, res, req);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port, seen, server };
}

export interface Harness {
  port: number;
  base: string;
  /** PEM of the self-signed server certificate when started with tls. */
  certFile: string | undefined;
  sink: MemorySink;
  listener: HttpListener;
  token(subject?: string, groups?: string[], ttlMs?: number): Promise<string>;
  decisions: PolicyInput[];
  close(): Promise<void>;
}

export type PolicyFn = (input: PolicyInput) => Pick<PolicyDecision, 'result' | 'reasons'> & Partial<Pick<PolicyDecision, 'approval' | 'mask'>>;

const allowAll: PolicyFn = () => ({ result: 'allow', reasons: [] });

/** Starts a listener for `connections` (raw config entries): plaintext, or TLS with a self-signed certificate. */
export async function startHarness(connections: RawConfig['connections'], policy: PolicyFn = allowAll, extra: Partial<NonNullable<RawConfig['gateway']>['httpProxy']> = {}, opts: { tls?: boolean; approvals?: ApprovalGate; raw?: Partial<RawConfig>; mcpTools?: McpToolPins } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-http-'));
  if (opts.tls) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  }
  for (const name of ['identity', 'node']) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, `${name}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }
  const config = compileOptions(
    {
      identity: { signingKeyFile: 'identity.pem' },
      recording: { nodeKeyFile: 'node.pem' },
      policy: { bundleFile: 'none.tar.gz' },
      gateway: { httpProxy: { listen: '127.0.0.1:0', ...(opts.tls ? { tls: { certFile: 'cert.pem', keyFile: 'key.pem' } } : { plaintext: true }), ...extra } },
      kafka: { ackTimeout: '5s', maxInFlightBytes: '1MiB' },
      connections,
      ...opts.raw,
    },
    dir,
    { env: {}, nodeId: 'gw-test' },
  );
  const verifier = await TokenVerifier.fromConfig(config.identity);
  const issuer = await TokenIssuer.fromConfig(config.identity);
  const sink = new MemorySink();
  const decisions: PolicyInput[] = [];
  const listener = new HttpListener({
    config,
    log: createLogger({ name: 'http-test', level: 'silent' }),
    verifier,
    sink,
    policy: {
      evaluate: (input) => {
        decisions.push(input);
        return { ...policy(input), revision: 'test', evalMicros: 1, output: {} };
      },
    },
    nodeKey: createPrivateKey(readFileSync(join(dir, 'node.pem'))),
    metrics: createHttpMetrics(createRegistry({ service: 'test', node: 'gw-test' })),
    ...(opts.approvals ? { approvals: opts.approvals } : {}),
    ...(opts.mcpTools ? { mcpTools: opts.mcpTools } : {}),
  });
  const port = await listener.listen('127.0.0.1', 0);
  return {
    port,
    base: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    certFile: opts.tls ? join(dir, 'cert.pem') : undefined,
    sink,
    listener,
    decisions,
    token: (subject = 'agent:test', groups = ['agents'], ttlMs = 600_000) => issuer.issue({ subject, groups, ttlMs }),
    close: async () => {
      await listener.close();
      await listener.endAll('test-end');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends raw bytes on a fresh TCP connection and returns everything the server sent back. */
export function rawRequest(port: number, bytes: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const out: Buffer[] = [];
    const done = (): void => {
      s.destroy();
      resolve(Buffer.concat(out).toString('latin1'));
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => out.push(c));
    s.on('close', () => {
      clearTimeout(t);
      done();
    });
    s.on('error', () => {});
    s.write(bytes);
  });
}
