/**
 * The real git client through the listener to the real `git http-backend` (the local stack's
 * CGI bridge, deploy/local/git-http/server.mjs): clone, push, force push and deletions, with
 * the policy refusing rewrites and deletions of main.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Command } from '@chaperone/events';
import { startHarness, type Harness } from './harness.js';

const SERVER = fileURLToPath(new URL('../../../../../../deploy/local/git-http/server.mjs', import.meta.url));

function git(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
    );
  });
}

interface GitUpdate {
  name: string;
  force: boolean | null;
  delete: boolean;
}

describe('git smart-HTTP through the listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-git-e2e-'));
  let server: ChildProcess;
  let h: Harness;
  let remote: string;
  const log = join(dir, 'access.log');

  before(async () => {
    const root = join(dir, 'repos');
    await git(dir, 'init', '-q', '--bare', '-b', 'main', join(root, 'demo.git'));
    writeFileSync(join(dir, 'pw'), 'git-secret-123\n');
    const port = 20000 + Math.floor(Math.random() * 20000);
    server = spawn('node', [SERVER, '--listen', `127.0.0.1:${port}`, '--root', root, '--user', 'git-bot', '--password-file', join(dir, 'pw')], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c: Buffer) => writeFileSync(log, c, { flag: 'a' }));
    await new Promise<void>((resolve) => server.stderr!.once('data', () => resolve()));
    h = await startHarness(
      [{ name: 'git', protocol: 'http', http: { upstream: `http://127.0.0.1:${port}`, kind: 'git', pathPrefix: '/git/', credentials: { type: 'basic', username: 'git-bot', password: { value: 'git-secret-123' } } } }],
      (input) => {
        const updates = (input.command.git as { updates?: GitUpdate[] } | undefined)?.updates ?? [];
        const bad = updates.filter((u) => u.name === 'main' && (u.force !== false || u.delete));
        return bad.length > 0 ? { result: 'deny', reasons: ['main is protected (policy: test)'] } : { result: 'allow', reasons: [] };
      },
    );
    remote = `http://agent:${await h.token()}@127.0.0.1:${h.port}/git/demo.git`;
    const w = join(dir, 'w');
    await git(dir, 'init', '-q', '-b', 'main', w);
    await git(w, 'config', 'user.email', 'agent@example.com');
    await git(w, 'config', 'user.name', 'agent');
  });
  after(async () => {
    await h.close();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const w = (): string => join(dir, 'w');
  async function commit(msg: string): Promise<void> {
    writeFileSync(join(w(), 'file.txt'), `${msg}\n`);
    await git(w(), 'add', '.');
    await git(w(), 'commit', '-q', '-m', msg);
  }
  const pushes = (): { text: string; updates: GitUpdate[] }[] =>
    h.sink
      .bodies()
      .filter((e): e is Command => e.type === 'Command' && e.action === 'git.push')
      .map((c) => ({ text: c.text, updates: (JSON.parse(c.detailsJson) as { updates: GitUpdate[] }).updates }));

  it('pushes a new branch and a fast-forward', async () => {
    await commit('one');
    assert.equal((await git(w(), 'push', remote, 'HEAD:main')).code, 0);
    await commit('two');
    const r = await git(w(), 'push', remote, 'HEAD:main');
    assert.equal(r.code, 0, r.out);
    assert.equal(pushes().at(-1)!.updates[0]!.force, false);
  });

  it('refuses a force push to main with the policy reason, after asking the upstream about ancestry', async () => {
    const receivesBefore = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"POST ') && l.includes('/git-receive-pack"')).length;
    await git(w(), 'commit', '-q', '--amend', '-m', 'two, rewritten');
    const r = await git(w(), 'push', '--force', remote, 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /\[remote rejected\] HEAD -> main \(chaperone: denied by policy: main is protected \(policy: test\)\)/);
    assert.equal(pushes().at(-1)!.updates[0]!.force, true);
    await new Promise((res) => setTimeout(res, 100));
    const receivesAfter = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"POST ') && l.includes('/git-receive-pack"')).length;
    assert.equal(receivesAfter, receivesBefore, 'the refused push never reached git http-backend');
  });

  it('allows rewriting and deleting a feature branch, refuses deleting main', async () => {
    assert.equal((await git(w(), 'push', remote, 'HEAD:feature')).code, 0);
    await git(w(), 'commit', '-q', '--amend', '-m', 'feature rewritten');
    const forced = await git(w(), 'push', '--force', remote, 'HEAD:feature');
    assert.equal(forced.code, 0, forced.out);
    assert.match(forced.out, /forced update/);
    assert.equal(pushes().at(-1)!.updates[0]!.force, true);
    assert.equal((await git(w(), 'push', remote, ':feature')).code, 0);
    assert.equal(pushes().at(-1)!.updates[0]!.delete, true);
    const del = await git(w(), 'push', remote, ':main');
    assert.notEqual(del.code, 0);
    assert.match(del.out, /remote rejected\] main \(chaperone: denied by policy/);
  });

  it('clones what was pushed and records the fetch', async () => {
    const c = join(dir, 'clone');
    const r = await git(dir, 'clone', '-q', remote, c);
    assert.equal(r.code, 0, r.out);
    assert.equal(readFileSync(join(c, 'file.txt'), 'utf8'), 'two\n');
    const actions = h.sink.bodies().filter((e): e is Command => e.type === 'Command').map((e) => e.action);
    assert.ok(actions.includes('git.advertise'));
    assert.ok(actions.includes('git.fetch') || actions.includes('git.ls-refs'));
    const all = Buffer.concat(h.sink.published.map((e) => e.body)).toString('latin1');
    assert.ok(!all.includes('git-secret-123'), 'the upstream password is never recorded');
  });
});
