/**
 * Nodes fail fast and drain cleanly (issue #18), with extra processes started here on spare ports
 * (the stack's own nodes are left alone):
 * - a gateway that cannot bind a listener, load its policy bundle or reach Kafka exits non-zero
 *   within seconds with one clear line, and leaves nothing listening;
 * - a SIGTERM'd gateway reports unready (/healthz 503) while its PostgreSQL listener still
 *   accepts, then closes it and exits 0 after the drain;
 * - the materializer, API and approvals worker exit non-zero at once when their ports are taken,
 *   and the API and worker exit 0 on SIGTERM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { loadConfig } from '@chaperone/config';
import { GatewayNode } from '@chaperone/gateway';
import { createLogger } from '@chaperone/observability';
import { loadStack, repoRoot, type Stack } from './lib/stack.js';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stderr: string;
}

/** The parts of chaperone.yaml these tests change. */
interface RawConfig {
  gateway: { httpProxy?: Record<string, unknown>; drainDelay?: string; drainTimeout?: string };
  policy: { bundleFile: string };
  kafka: { brokers: string[] };
  api?: Record<string, unknown>;
  temporal?: Record<string, unknown>;
  approvals?: { slack?: Record<string, unknown> };
}

interface Started {
  child: ChildProcess;
  exited: Promise<Exit>;
}

function start(stack: Stack, args: string[]): Started {
  const t0 = Date.now();
  const child = spawn(process.execPath, [stack.CHAPERONE_CLI ?? '', ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0, stderr })));
  return { child, exited };
}

/** The exit within `ms`, else the process is killed and the test fails. */
async function exitWithin(s: Started, ms: number): Promise<Exit> {
  const timer = setTimeout(() => s.child.kill('SIGKILL'), ms);
  const e = await s.exited;
  clearTimeout(timer);
  assert.notEqual(e.signal, 'SIGKILL', `still running after ${ms} ms; stderr:\n${e.stderr}`);
  return e;
}

/** The lines of stderr that are not JSON log lines: what a person reads. */
const plainLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{'));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => sock.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

async function healthStatus(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

describe('nodes fail fast and drain', { timeout: 180_000 }, () => {
  let stack: Stack;
  const written: string[] = [];

  /**
   * A copy of the stack's configuration with changes, next to it (its relative paths stay valid);
   * removed after the tests.
   */
  function configWith(change: (c: RawConfig) => void): string {
    const raw = parseYaml(readFileSync(stack.CHAPERONE_CONFIG!, 'utf8')) as RawConfig;
    change(raw);
    const file = join(dirname(stack.CHAPERONE_CONFIG!), `e2e-failfast-${randomBytes(4).toString('hex')}.yaml`);
    writeFileSync(file, stringify(raw), { mode: 0o600 });
    written.push(file);
    return file;
  }

  /** A gateway's own config: a free HTTP proxy port (the stack's nodes hold theirs). */
  async function gatewayConfig(change: (c: RawConfig) => void = () => undefined): Promise<string> {
    const proxyPort = await freePort();
    return configWith((c) => {
      if (c.gateway?.httpProxy) c.gateway.httpProxy.listen = `127.0.0.1:${proxyPort}`;
      change(c);
    });
  }

  before(() => {
    stack = loadStack();
  });

  after(() => {
    for (const f of written) rmSync(f, { force: true });
  });

  it('a gateway whose PostgreSQL port is taken exits 1 within 5 s with one line naming the address', async () => {
    const taken = await occupy();
    try {
      const http = await freePort();
      const e = await exitWithin(start(stack, ['gateway', '--config', await gatewayConfig(), '--node-id', 'gw-failfast-pg', '--listen', `127.0.0.1:${taken.port}`, '--http', `127.0.0.1:${http}`]), 5000);
      assert.equal(e.code, 1, e.stderr);
      assert.ok(e.ms < 5000, `${e.ms} ms`);
      assert.deepEqual(plainLines(e.stderr), [`chaperone gateway: cannot start: cannot bind the PostgreSQL listener on 127.0.0.1:${taken.port} (gateway.postgres.listen): the address is in use`]);
      assert.equal(await accepts(http), false, 'the health endpoint is closed too');
    } finally {
      taken.server.close();
    }
  });

  it('a gateway whose HTTP proxy port is taken exits 1 and leaves no PostgreSQL listener open', async () => {
    const taken = await occupy();
    try {
      const [pgPort, http] = [await freePort(), await freePort()];
      const config = configWith((c) => {
        c.gateway.httpProxy = { ...(c.gateway.httpProxy ?? {}), listen: `127.0.0.1:${taken.port}`, listenByNode: {} };
      });
      const e = await exitWithin(start(stack, ['gateway', '--config', config, '--node-id', 'gw-failfast-http', '--listen', `127.0.0.1:${pgPort}`, '--http', `127.0.0.1:${http}`]), 5000);
      assert.equal(e.code, 1, e.stderr);
      assert.deepEqual(plainLines(e.stderr), [`chaperone gateway: cannot start: cannot bind the HTTP proxy listener on 127.0.0.1:${taken.port} (gateway.httpProxy.listen): the address is in use`]);
      assert.equal(await accepts(pgPort), false);
    } finally {
      taken.server.close();
    }
  });

  it('a GatewayNode whose HTTP proxy cannot bind fails its start and closes the PostgreSQL listener it had opened', async () => {
    // In-process, past the CLI's early port check: the case issue #18 found (the node stayed
    // alive with its PostgreSQL listener open, refusing every session).
    const taken = await occupy();
    try {
      const [pgPort, http] = [await freePort(), await freePort()];
      const file = configWith((c) => {
        c.gateway.httpProxy = { ...(c.gateway.httpProxy ?? {}), listen: `127.0.0.1:${taken.port}`, listenByNode: {} };
      });
      const config = loadConfig(file, { nodeId: 'gw-failfast-inproc' });
      config.gateway.postgres.listen = { host: '127.0.0.1', port: pgPort };
      config.gateway.http = { host: '127.0.0.1', port: http };
      const node = new GatewayNode({ config, log: createLogger({ name: 'gateway', level: 'fatal' }) });
      await assert.rejects(node.start(), /cannot bind the HTTP proxy listener on 127\.0\.0\.1:\d+ \(gateway\.httpProxy\.listen\): the address is in use/);
      assert.equal(node.lifecycle.state, 'failed');
      assert.equal(await accepts(pgPort), false, 'the PostgreSQL listener is closed');
      assert.equal(await accepts(http), false, 'the health endpoint is closed');
    } finally {
      taken.server.close();
    }
  });

  it('a gateway without a loadable policy bundle exits 1 within 5 s', async () => {
    const config = await gatewayConfig((c) => (c.policy.bundleFile = '/nonexistent/bundle.tar.gz'));
    const e = await exitWithin(start(stack, ['gateway', '--config', config, '--node-id', 'gw-failfast-policy', '--listen', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${await freePort()}`]), 5000);
    assert.equal(e.code, 1, e.stderr);
    const lines = plainLines(e.stderr);
    assert.equal(lines.length, 1, e.stderr);
    assert.match(lines[0]!, /^chaperone gateway: cannot start: cannot load the policy bundle \/nonexistent\/bundle\.tar\.gz: /);
  });

  it('a gateway that cannot reach Kafka exits 1 within seconds', async () => {
    const dead = await freePort();
    const config = await gatewayConfig((c) => (c.kafka.brokers = [`127.0.0.1:${dead}`]));
    const e = await exitWithin(start(stack, ['gateway', '--config', config, '--node-id', 'gw-failfast-kafka', '--listen', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${await freePort()}`]), 20_000);
    assert.equal(e.code, 1, e.stderr);
    assert.ok(e.ms < 15_000, `${e.ms} ms`);
    const lines = plainLines(e.stderr);
    assert.equal(lines.length, 1, e.stderr);
    assert.match(lines[0]!, new RegExp(`^chaperone gateway: cannot start: cannot reach Kafka \\(127\\.0\\.0\\.1:${dead}\\): `));
  });

  it('a SIGTERM\'d gateway reports unready while its listener still accepts, then closes it and exits 0', async () => {
    const [pgPort, http] = [await freePort(), await freePort()];
    const config = await gatewayConfig((c) => {
      c.gateway.drainDelay = '3s';
      c.gateway.drainTimeout = '6s';
    });
    const node = start(stack, ['gateway', '--config', config, '--node-id', 'gw-failfast-drain', '--listen', `127.0.0.1:${pgPort}`, '--http', `127.0.0.1:${http}`]);
    try {
      const deadline = Date.now() + 30_000;
      while ((await healthStatus(http)) !== 200) {
        assert.ok(Date.now() < deadline, 'healthy within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
      const t0 = Date.now();
      node.child.kill('SIGTERM');
      let unreadyAt = 0;
      let closedAt = 0;
      let acceptedWhileUnready = false;
      while (!closedAt && Date.now() - t0 < 15_000) {
        const status = await healthStatus(http);
        const open = await accepts(pgPort);
        if (status !== 200 && !unreadyAt) unreadyAt = Date.now();
        if (unreadyAt && open) acceptedWhileUnready = true;
        if (!open) closedAt = Date.now();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(unreadyAt > 0 && unreadyAt - t0 < 1000, `unready ${unreadyAt - t0} ms after SIGTERM`);
      assert.ok(acceptedWhileUnready, 'the listener kept accepting while /healthz said 503 (drainDelay)');
      assert.ok(closedAt > unreadyAt, 'unready before the listener closed');
      const e = await exitWithin(node, 15_000);
      assert.equal(e.code, 0, e.stderr);
    } finally {
      node.child.kill('SIGKILL');
    }
  });

  for (const service of ['materializer', 'api', 'approvals-worker'] as const) {
    it(`the ${service} exits 1 at once when its ports are taken (the stack's own holds them)`, async () => {
      const e = await exitWithin(start(stack, [service, '--config', stack.CHAPERONE_CONFIG!, '--node-id', `${service}-failfast`]), 15_000);
      assert.equal(e.code, 1, e.stderr);
      const lines = plainLines(e.stderr);
      assert.equal(lines.length, 1, e.stderr);
      assert.match(lines[0]!, new RegExp(`^chaperone ${service}: cannot start: .*(in use|EADDRINUSE)`));
    });
  }

  it('the API and the approvals worker exit 0 on SIGTERM', async () => {
    const [grpc, apiHttp, apiWeb, workerHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = configWith((c) => {
      c.api = { ...(c.api ?? {}), listen: `127.0.0.1:${grpc}`, http: `127.0.0.1:${apiHttp}` };
      // The console's HTTPS port too, when the stack's config has one (the stack's API holds it).
      if (c.api.web) c.api.web = { ...c.api.web, listen: `127.0.0.1:${apiWeb}` };
      // Its own task queue: this worker must not take the stack's approval tasks.
      c.temporal = { ...(c.temporal ?? {}), http: `127.0.0.1:${workerHttp}`, taskQueue: `e2e-failfast-${randomBytes(3).toString('hex')}` };
      if (c.approvals?.slack) c.approvals.slack.interactivity = '127.0.0.1:0';
    });
    for (const [service, port] of [['api', apiHttp], ['approvals-worker', workerHttp]] as const) {
      const s = start(stack, [service, '--config', config, '--node-id', `${service}-failfast-term`]);
      try {
        const deadline = Date.now() + 30_000;
        while ((await healthStatus(port)) !== 200) {
          assert.ok(Date.now() < deadline, `${service} healthy within 30 s`);
          await new Promise((r) => setTimeout(r, 200));
        }
        s.child.kill('SIGTERM');
        const e = await exitWithin(s, 20_000);
        assert.equal(e.code, 0, `${service}: ${e.stderr}`);
      } finally {
        s.child.kill('SIGKILL');
      }
    }
  });
});
