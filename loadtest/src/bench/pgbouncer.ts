import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from './errors.js';

export interface PgBouncerOptions {
  /** The PostgreSQL server pooled to. */
  upstream: { host: string; port: number; database: string; user: string; password: string };
  /** Server connections per database/user pair (pgbouncer's default_pool_size). */
  poolSize: number;
  /** Certificate and key for TLS towards clients (as agents reach Chaperone over TLS); none = plain. */
  tls?: { certFile: string; keyFile: string };
}

export interface PgBouncer {
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** pgbouncer refuses to run as root; when we are root it drops to this user (-u). */
function runAs(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // try the next one
    }
  }
  throw new BenchError('SETUP_FAILED', 'pgbouncer does not run as root and neither a postgres nor a nobody user exists to run it as');
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts PgBouncer (transaction pooling, SCRAM-SHA-256 towards clients with a userlist built
 * from the upstream user's password) from a temporary folder on a free port, in the foreground
 * as our child, so it never outlives the benchmark.
 * @see https://www.pgbouncer.org/config.html
 */
export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncer> {
  try {
    execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new BenchError('NO_TOOL', 'pgbouncer is not installed: run deploy/local/install (it installs Debian\'s pgbouncer) or apt-get install pgbouncer');
  }
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-pgbouncer-'));
  const user = runAs();
  const port = await freePort();
  const file = (name: string) => join(dir, name);
  writeFileSync(file('userlist.txt'), `${quote(o.upstream.user)} ${quote(o.upstream.password)}\n`, { mode: 0o600 });
  const tls: string[] = [];
  if (o.tls) {
    copyFileSync(o.tls.certFile, file('server.crt'));
    copyFileSync(o.tls.keyFile, file('server.key'));
    chmodSync(file('server.key'), 0o600);
    tls.push('client_tls_sslmode = require', `client_tls_cert_file = ${file('server.crt')}`, `client_tls_key_file = ${file('server.key')}`);
  }
  const u = o.upstream;
  writeFileSync(
    file('pgbouncer.ini'),
    [
      '[databases]',
      `${u.database} = host=${u.host} port=${u.port} dbname=${u.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${file('userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${o.poolSize}`,
      'max_client_conn = 1000',
      // pgbench sets it; PgBouncer would otherwise refuse the startup packet.
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${file('pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      ...tls,
      '',
    ].join('\n'),
  );
  if (user) for (const f of ['', 'userlist.txt', 'pgbouncer.ini', ...(o.tls ? ['server.crt', 'server.key'] : [])]) chownSync(file(f), user.uid, user.gid);
  const child: ChildProcess = spawn('pgbouncer', [...(user ? ['-u', user.name] : []), file('pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = () => {
    try {
      return readFileSync(file('pgbouncer.log'), 'utf8').trim().split('\n').slice(-8).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 10_000; !(await accepting(port)); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = `${stderr.trim()}\n${log()}`.trim();
      await stop();
      throw new BenchError('SETUP_FAILED', `pgbouncer did not start on port ${port}: ${why || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, stop };
}
