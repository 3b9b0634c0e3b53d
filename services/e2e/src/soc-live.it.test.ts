/**
 * What a SOC sees, through the real stack: `chaperone replay --follow` shows a live psql
 * session's statements within a second, and `chaperone verify` says intact for a normal session
 * and names the event that was altered or deleted directly in ClickHouse.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '@chaperone/config';
import { decodeRecord, frameMessages, loadPrivateKey } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { createHttpExecutor, createStore } from '@chaperone/store';
import { fixtureSession } from '@chaperone/store/testing';
import { chaperone, eventually, loadStack, repoRoot, type Stack } from './lib/stack.js';

describe('SOC: live follow and tamper evidence', { timeout: 120_000 }, () => {
  let stack: Stack;
  let config: Config;

  before(() => {
    stack = loadStack();
    config = loadConfig(stack.CHAPERONE_CONFIG);
  });

  it('replay --follow shows each statement of a live psql session within a second', async () => {
    const subject = `agent:e2e-follow-${randomBytes(4).toString('hex')}`;
    const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 10 * 60_000 });
    const conninfo = `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`;
    const psql = spawn('psql', [conninfo, '-X', '-q', '-At'], { env: { ...process.env, PGPASSWORD: token, PGAPPNAME: 'e2e-follow' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let psqlOut = '';
    psql.stdout.on('data', (d: Buffer) => (psqlOut += d.toString()));
    psql.stderr.on('data', (d: Buffer) => (psqlOut += d.toString()));
    try {
      const first = `follow_${randomBytes(4).toString('hex')}`;
      psql.stdin.write(`SELECT '${first}';\n`);
      await eventually('psql answering', () => Promise.resolve(psqlOut.includes(first) ? true : undefined), 15_000).catch((err: Error) => {
        throw new Error(`${err.message}; psql said: ${psqlOut}`);
      });
      const sessionId = await eventually('the live session in sessions ls', async () => {
        const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--state', 'open', '--json']);
        return (JSON.parse(ls.stdout || '[]') as { sessionId: string }[])[0]?.sessionId;
      });
      const follow = spawn('node', [stack.CHAPERONE_CLI!, 'replay', sessionId, '--follow'], {
        cwd: repoRoot,
        env: { ...process.env, CHAPERONE_CONFIG: stack.CHAPERONE_CONFIG },
      });
      let out = '';
      const seenAt = new Map<string, number>();
      follow.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        for (const m of out.matchAll(/SELECT '(follow_\w+)'/g)) if (!seenAt.has(m[1]!)) seenAt.set(m[1]!, Date.now());
      });
      let err = '';
      follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)));
      await eventually('the stored part of the session', () => Promise.resolve(seenAt.has(first) ? true : undefined), 15_000).catch((e: Error) => {
        throw new Error(`${e.message}; replay said: ${out}${err}`);
      });
      // The follower is reading the partition now; each new statement must show up within a second.
      await new Promise((r) => setTimeout(r, 500));
      const delays: number[] = [];
      for (let i = 0; i < 3; i++) {
        const marker = `follow_${randomBytes(4).toString('hex')}`;
        const sent = Date.now();
        psql.stdin.write(`SELECT '${marker}';\n`);
        await eventually(`statement ${i + 2} in the follow output`, () => Promise.resolve(seenAt.has(marker) ? true : undefined), 5000).catch((e: Error) => {
          throw new Error(`${e.message}; replay said: ${out}${err}`);
        });
        delays.push(seenAt.get(marker)! - sent);
      }
      assert.ok(Math.max(...delays) < 1000, `follow delays ${delays.join(', ')} ms`);
      psql.stdin.end('\\q\n');
      assert.equal(await exited, 0, `replay --follow ends with the session: ${err}`);
      assert.match(out, /ended .*sealed by gw-\d/);
      const verify = await eventually('the ended session verifies', async () => {
        const v = await chaperone(stack, ['verify', sessionId, '--json']);
        return v.code === 0 ? v : undefined;
      });
      assert.equal((JSON.parse(verify.stdout) as { status: string }).status, 'intact');
    } finally {
      psql.kill();
    }
  });

  it('verify pinpoints an event altered, and one deleted, directly in ClickHouse', async () => {
    // Sessions sealed exactly as gateway gw-1 seals (its key, its node id), written to the stack's store.
    const key = loadPrivateKey(config.recording.nodeKeyFile);
    const [normal, altered, deleted] = [0, 1, 2].map(() => fixtureSession({ nodeId: 'gw-1', privateKey: key, subject: 'agent:e2e-tamper' }));
    const store = createStore(config.clickhouse);
    const exec = createHttpExecutor(config.clickhouse);
    const mutate = async (sql: string) => {
      await exec.command(sql);
      await eventually('the mutation', async () => {
        const [r] = await exec.select<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = '${exec.database}' AND is_done = 0`);
        return Number(r?.n ?? 0) === 0 ? true : undefined;
      });
    };
    try {
      await store.insertEvents([normal!, altered!, deleted!].flatMap((f) => f.messages.flatMap((m) => decodeRecord(m))));
      const ok = await chaperone(stack, ['verify', normal!.sessionId]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^intact: /);

      // The frame holding the result rows (RowDescription, DataRows, CommandComplete, ReadyForQuery in one write).
      const row = altered!.events.find((e) => e.event.body.type === 'Frame' && frameMessages(e.event.body).some((m) => m.type === 'DataRow'))!.event.seq;
      await mutate(`ALTER TABLE ${exec.database}.events UPDATE payload = 'D\\0\\0\\0\\x0b\\0\\x01\\0\\0\\0\\x01x' WHERE session_id = '${altered!.sessionId}' AND seq = ${row}`);
      const a = await chaperone(stack, ['verify', altered!.sessionId]);
      assert.equal(a.code, 2, a.stdout + a.stderr);
      assert.match(a.stdout, new RegExp(`^broken at seq ${row}: event ${row}: column payload does not match`));

      await mutate(`ALTER TABLE ${exec.database}.events DELETE WHERE session_id = '${deleted!.sessionId}' AND seq = 5`);
      const d = await chaperone(stack, ['verify', deleted!.sessionId, '--json']);
      assert.equal(d.code, 2, d.stdout + d.stderr);
      const r = JSON.parse(d.stdout) as { status: string; firstBadSeq: number; detail: string };
      assert.deepEqual([r.status, r.firstBadSeq], ['broken', 5]);
      assert.match(r.detail, /events 5\.\.5 are missing/);
    } finally {
      await exec.close();
      await store.close();
    }
  });
});
