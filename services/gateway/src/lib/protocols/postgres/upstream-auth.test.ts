/**
 * Logs in to a real, throwaway PostgreSQL 15 over a raw socket using only this codec:
 * SCRAM-SHA-256 (ScramClient), MD5 (md5Password), then simple and extended queries.
 * Fails (never skips) when the PostgreSQL binaries are missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBackend } from './decode-backend.js';
import * as fe from './encode.js';
import type { AuthenticationRequest, BackendMessage } from './messages.js';
import { MessageReader } from './reader.js';
import { ScramClient, md5Password, SCRAM_SHA_256 } from './scram.js';

const BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
const ROLES = {
  scram: { user: 'scram_user', password: 's3cr3t pencil' },
  md5: { user: 'md5_user', password: 'md5 secret' },
  // SASLprep maps the no-break space to a space and NFKC folds the ligature; the server does
  // the same when it stores the verifier, so the client must too.
  unicode: { user: 'unicode_user', password: 'pässwörd\u00A0\uFB01' },
};

let dir = '';
let port = 0;

/** Runs a PostgreSQL binary as the postgres OS user (initdb refuses to run as root). */
function pg(binary: string, args: string[]): string {
  const cmd = join(BIN, binary);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A client connection that yields decoded backend messages one at a time. */
class Conn {
  private readonly reader = new MessageReader({ maxMessageBytes: 1 << 20 });
  private readonly queue: BackendMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = this.reader.push(chunk);
      for (const m of messages) this.queue.push(decodeBackend(m));
      if (error) this.failure = error;
      this.wake?.();
    });
    socket.on('close', () => ((this.ended = true), this.wake?.()));
    socket.on('error', (err) => ((this.failure = err), this.wake?.()));
  }

  static async open(target: { port: number } | { path: string }, ssl = false): Promise<Conn> {
    const socket = connect('path' in target ? { path: target.path } : { host: '127.0.0.1', port: target.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    if (ssl) {
      // The answer to SSLRequest is one unframed byte: 'N' from a server without TLS.
      socket.write(fe.encodeSSLRequest());
      const answer = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      assert.deepEqual(answer, Buffer.from('N'));
    }
    return new Conn(socket);
  }

  async next(): Promise<BackendMessage> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Startup + authentication up to ReadyForQuery; returns the auth requests seen. */
  async login(user: string, password: string): Promise<AuthenticationRequest['type'][]> {
    this.send(fe.encodeStartupMessage({ user, database: 'postgres', client_encoding: 'UTF8' }));
    const seen: AuthenticationRequest['type'][] = [];
    let scram: ScramClient | undefined;
    for (;;) {
      const m = await this.next();
      if (m.type === 'ErrorResponse') throw Object.assign(new Error(m.fields['M']), { fields: m.fields });
      if (m.type === 'ReadyForQuery') return seen;
      if (m.type !== 'Authentication') continue;
      const req = m.request;
      seen.push(req.type);
      if (req.type === 'md5') this.send(fe.encodePasswordMessage(md5Password(user, password, req.salt)));
      if (req.type === 'sasl') {
        assert.ok(req.mechanisms.includes(SCRAM_SHA_256));
        scram = new ScramClient(user, password);
        this.send(fe.encodeSaslInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage()));
      }
      if (req.type === 'sasl-continue') this.send(fe.encodeSaslResponse(scram!.handleServerFirst(req.data.toString())));
      if (req.type === 'sasl-final') scram!.verifyServerFinal(req.data.toString());
    }
  }

  /** Collects messages up to and including ReadyForQuery. */
  async untilReady(): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (let m = await this.next(); ; m = await this.next()) {
      out.push(m);
      if (m.type === 'ReadyForQuery') return out;
    }
  }

  async terminate(): Promise<void> {
    this.send(fe.encodeTerminate());
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}

before(async () => {
  assert.ok(existsSync(join(BIN, 'initdb')), `PostgreSQL 15 binaries not found in ${BIN} (apt-get install postgresql-15, or set PG_BIN)`);
  dir = mkdtempSync(join(tmpdir(), 'chaperone-pg-'));
  if (asRoot) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })));
    chownSync(dir, uid!, gid!);
  }
  const data = join(dir, 'data');
  pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  writeFileSync(
    join(data, 'pg_hba.conf'),
    [
      'local all postgres trust',
      `host all ${ROLES.scram.user} 127.0.0.1/32 scram-sha-256`,
      `host all ${ROLES.unicode.user} 127.0.0.1/32 scram-sha-256`,
      `host all ${ROLES.md5.user} 127.0.0.1/32 md5`,
      '',
    ].join('\n'),
  );
  port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c password_encryption=scram-sha-256`;
  try {
    pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', opts, 'start']);
  } catch (err) {
    throw new Error(`postgres did not start: ${String(err)}\n${existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : ''}`);
  }
  // Create the roles over the Unix socket with our own codec (trust auth for postgres).
  const admin = await Conn.open({ path: join(dir, `.s.PGSQL.${port}`) });
  assert.deepEqual(await admin.login('postgres', ''), ['ok']);
  admin.send(
    fe.encodeQuery(
      `CREATE ROLE ${ROLES.scram.user} LOGIN PASSWORD '${ROLES.scram.password}';` +
        `CREATE ROLE ${ROLES.unicode.user} LOGIN PASSWORD '${ROLES.unicode.password}';` +
        `SET password_encryption = 'md5';` +
        `CREATE ROLE ${ROLES.md5.user} LOGIN PASSWORD '${ROLES.md5.password}';`,
    ),
  );
  const done = await admin.untilReady();
  assert.deepEqual(done.filter((m) => m.type === 'ErrorResponse'), []);
  await admin.terminate();
});

after(() => {
  if (!dir) return;
  try {
    pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('upstream login against a real PostgreSQL 15', { timeout: 30_000 }, () => {
  it('SCRAM-SHA-256 (after an SSLRequest refused with N), then SELECT 1', async () => {
    const c = await Conn.open({ port }, true);
    assert.deepEqual(await c.login(ROLES.scram.user, ROLES.scram.password), ['sasl', 'sasl-continue', 'sasl-final', 'ok']);
    c.send(fe.encodeQuery('SELECT 1'));
    const [desc, row, complete, ready] = await c.untilReady();
    assert.equal(desc?.type, 'RowDescription');
    if (desc?.type === 'RowDescription') assert.deepEqual([desc.fields[0]?.name, desc.fields[0]?.typeOid], ['?column?', 23]);
    assert.deepStrictEqual(row, { type: 'DataRow', values: [Buffer.from('1')] });
    assert.deepStrictEqual(complete, { type: 'CommandComplete', tag: 'SELECT 1' });
    assert.deepStrictEqual(ready, { type: 'ReadyForQuery', status: 'I' });
    await c.terminate();
  });

  it('SCRAM with a wrong password gets 28P01', async () => {
    const c = await Conn.open({ port });
    await assert.rejects(c.login(ROLES.scram.user, 'wrong'), (err: Error & { fields?: Record<string, string> }) => err.fields?.['C'] === '28P01');
  });

  it('SCRAM with a non-ASCII password (SASLprep)', async () => {
    const c = await Conn.open({ port });
    assert.deepEqual(await c.login(ROLES.unicode.user, ROLES.unicode.password), ['sasl', 'sasl-continue', 'sasl-final', 'ok']);
    await c.terminate();
  });

  it('MD5, then the extended protocol (Parse/Bind/Describe/Execute/Sync)', async () => {
    const c = await Conn.open({ port });
    assert.deepEqual(await c.login(ROLES.md5.user, ROLES.md5.password), ['md5', 'ok']);
    c.send(
      fe.encodeParse({ name: 's1', sql: 'SELECT $1::int + 1 AS answer, current_user AS who, NULL AS nothing', paramTypes: [23] }),
      fe.encodeBind({ statement: 's1', params: [Buffer.from('41')] }),
      fe.encodeDescribe({ kind: 'P' }),
      fe.encodeExecute(),
      fe.encodeClose({ kind: 'S', name: 's1' }),
      fe.encodeSync(),
    );
    const got = await c.untilReady();
    assert.deepEqual(got.map((m) => m.type), ['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow', 'CommandComplete', 'CloseComplete', 'ReadyForQuery']);
    assert.deepStrictEqual(got[3], { type: 'DataRow', values: [Buffer.from('42'), Buffer.from(ROLES.md5.user), null] });
    await c.terminate();
  });

  it('server errors decode into fields', async () => {
    const c = await Conn.open({ port });
    await c.login(ROLES.scram.user, ROLES.scram.password);
    c.send(fe.encodeQuery('SELECT * FROM no_such_table'));
    const [err, ready] = await c.untilReady();
    assert.equal(err?.type, 'ErrorResponse');
    if (err?.type === 'ErrorResponse') assert.deepEqual([err.fields['S'], err.fields['V'], err.fields['C']], ['ERROR', 'ERROR', '42P01']);
    assert.deepStrictEqual(ready, { type: 'ReadyForQuery', status: 'I' });
    await c.terminate();
  });
});
