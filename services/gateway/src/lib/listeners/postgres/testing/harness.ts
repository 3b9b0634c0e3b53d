import { compileOptions, type Config } from '@chaperone/config';
import { loadPrivateKey } from '@chaperone/events';
import { TokenIssuer, TokenVerifier } from '@chaperone/identity';
import { Registry, createLogger, type Logger } from '@chaperone/observability';
import { initSqlParser } from '../../../commands/index.js';
import type { ApprovalGate } from '../../../approvals/index.js';
import type { PolicyDecision, PolicyInput } from '../../../policy/index.js';
import type { CancelBus } from '../cancel-bus.js';
import { PgListener } from '../listener.js';
import { createPgMetrics } from '../metrics.js';
import { FakeUpstream } from './fake-upstream.js';
import { MemorySink } from './memory-sink.js';
import { createTestPki, type TestPki } from './pki.js';

/** An in-process gateway PostgreSQL listener in front of a fake upstream, and its observers. */
export interface PgHarness {
  config: Config;
  listener: PgListener;
  port: number;
  upstream: FakeUpstream;
  sink: MemorySink;
  subject: string;
  /** A valid agent token for `subject`. */
  token: string;
  /** Error and warning log lines by message (the logger is otherwise silent). */
  logged: Map<string, number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** gateway.postgres.idleTimeout. */
  idleTimeout: string;
  /** gateway.postgres.maxMessageBytes. */
  maxMessageBytes: string;
  /** The policy; default: allow everything. */
  policy?: (input: PolicyInput) => PolicyDecision;
  approvals?: ApprovalGate;
  cancels?: CancelBus;
  /** Keep every recorded event (sink.kept). */
  keepEvents?: boolean;
}

const ALLOW: PolicyDecision = { result: 'allow', reasons: [], revision: 'test', evalMicros: 0, output: {} };

/** A silent logger that counts warn/error lines by message, so tests can show what the gateway complained about. */
function countingLogger(logged: Map<string, number>): Logger {
  const log = createLogger({ name: 'pg-listener-test', level: 'silent' });
  const count = (obj: unknown, msg?: unknown) => {
    // Grouped by message and the error's first words ("session failed: Bind"), not every variant.
    const err = typeof obj === 'object' && obj !== null && 'err' in obj ? `: ${String(obj.err).split(/[:(]/)[0]!.slice(0, 80)}` : '';
    const key = `${typeof msg === 'string' ? msg : typeof obj === 'string' ? obj : '?'}${err}`;
    logged.set(key, (logged.get(key) ?? 0) + 1);
  };
  log.error = count;
  log.warn = count;
  return log;
}

export async function startPgHarness(opts: HarnessOptions): Promise<PgHarness> {
  const pki: TestPki = createTestPki();
  const sink = new MemorySink({ keepEvents: opts.keepEvents ?? false });
  const upstream = new FakeUpstream((frame) => sink.takeRecordedClientFrame(frame));
  const upstreamPort = await upstream.listen();
  const config = compileOptions(
    {
      node: { id: 'test-node' },
      identity: { signingKeyFile: pki.identityKeyFile },
      gateway: {
        postgres: { listen: '127.0.0.1:0', tls: { certFile: pki.certFile, keyFile: pki.keyFile }, maxMessageBytes: opts.maxMessageBytes, idleTimeout: opts.idleTimeout },
      },
      connections: [
        { name: 'fake', protocol: 'postgres', postgres: { host: '127.0.0.1', port: upstreamPort, database: 'fake', user: 'gateway', password: { value: 'not-used' } } },
      ],
      recording: { nodeKeyFile: pki.nodeKeyFile },
      kafka: { ackTimeout: '5s' },
      policy: { bundleFile: `${pki.dir}/no-bundle.tar.gz` },
    },
    pki.dir,
    { env: {} },
  );
  await initSqlParser();
  const logged = new Map<string, number>();
  const subject = 'agent:fuzz';
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, ttlMs: 3_600_000 });
  const listener = new PgListener({
    config,
    log: countingLogger(logged),
    verifier: await TokenVerifier.fromConfig(config.identity),
    sink,
    policy: { evaluate: opts.policy ?? (() => ALLOW) },
    nodeKey: loadPrivateKey(config.recording.nodeKeyFile),
    metrics: createPgMetrics(new Registry()),
    ...(opts.approvals ? { approvals: opts.approvals } : {}),
    ...(opts.cancels ? { cancels: opts.cancels } : {}),
  });
  const port = await listener.listen('127.0.0.1', 0);
  return {
    config,
    listener,
    port,
    upstream,
    sink,
    subject,
    token,
    logged,
    close: async () => {
      await listener.close();
      await listener.endAll('test-end');
      await upstream.close();
      pki.remove();
    },
  };
}
