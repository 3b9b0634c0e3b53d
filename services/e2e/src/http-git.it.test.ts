/**
 * The real git client through the load-balanced TLS endpoint to `git http-backend`: clone, push,
 * push --force and branch deletion, with the default policy pack refusing to rewrite or delete
 * a protected branch (main). Refused pushes never reach git http-backend; every request is a
 * command in ClickHouse with its parsed ref updates.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { commandsOf, httpBase, issueToken, logSince, logSize, replayOf, uniqueSubject } from './lib/http.js';
import { loadStack, run, type Stack } from './lib/stack.js';

interface Update {
  ref: string;
  name: string;
  type: string;
  force: boolean | null;
  delete: boolean;
  old: string;
  new: string;
}

describe('HTTP gateway: git smart-HTTP against git http-backend', () => {
  let stack: Stack;
  let remote: string;
  const subject = uniqueSubject('git');
  const dir = mkdtempSync(join(tmpdir(), 'e2e-git-'));
  const work = join(dir, 'work');
  const branch = `agent/e2e-${randomBytes(3).toString('hex')}`;
  const git = (cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('git', args, { cwd, env: { ...process.env, GIT_SSL_CAINFO: stack.TLS_CA_FILE!, GIT_TERMINAL_PROMPT: '0', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } });
  async function commit(message: string): Promise<void> {
    writeFileSync(join(work, 'notes.txt'), `${message}\n`);
    await git(work, 'add', 'notes.txt');
    const r = await git(work, '-c', 'user.name=e2e', '-c', 'user.email=e2e@chaperone.invalid', 'commit', '-q', '-m', message);
    assert.equal(r.code, 0, r.stderr);
  }
  const receivePosts = (since: number): number => logSince(stack.GIT_HTTP_ACCESS_LOG!, since).split('\n').filter((l) => l.includes('"POST ') && l.includes('/git-receive-pack"')).length;

  before(async () => {
    stack = loadStack();
    const token = await issueToken(stack, subject);
    remote = `${httpBase(stack).replace('https://', `https://agent:${token}@`)}/git/demo.git`;
  });

  it('clones through the gateway', async () => {
    const r = await git(dir, 'clone', '-q', remote, work);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(work, 'README.md'), 'utf8'), /demo/);
  });

  it('pushes a new branch and a fast-forward', async () => {
    await commit('first change');
    const created = await git(work, 'push', 'origin', `HEAD:refs/heads/${branch}`);
    assert.equal(created.code, 0, created.stderr);
    await commit('second change');
    const ff = await git(work, 'push', 'origin', `HEAD:refs/heads/${branch}`);
    assert.equal(ff.code, 0, ff.stderr);
  });

  it('force-pushes the feature branch (allowed) but not main (denied, never reaches git)', async () => {
    await git(work, '-c', 'user.name=e2e', '-c', 'user.email=e2e@chaperone.invalid', 'commit', '-q', '--amend', '-m', 'second change, rewritten');
    const forced = await git(work, 'push', '--force', 'origin', `HEAD:refs/heads/${branch}`);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /forced update/);
    // A history that does not contain main's tip: pushing it over main rewrites main.
    await git(work, 'checkout', '-q', '--orphan', 'rewrite');
    await commit('a rewritten history');
    const before = logSize(stack.GIT_HTTP_ACCESS_LOG!);
    const main = await git(work, 'push', '--force', 'origin', 'HEAD:refs/heads/main');
    assert.notEqual(main.code, 0);
    assert.match(main.stderr, /\[remote rejected\] HEAD -> main \(chaperone: denied by policy: .*force-pushing refs\/heads\/main/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receivePosts(before), 0, 'the refused push never reached git http-backend');
  });

  it('deletes the feature branch but not main', async () => {
    const del = await git(work, 'push', 'origin', `:refs/heads/${branch}`);
    assert.equal(del.code, 0, del.stderr);
    const before = logSize(stack.GIT_HTTP_ACCESS_LOG!);
    const main = await git(work, 'push', 'origin', ':refs/heads/main');
    assert.notEqual(main.code, 0);
    assert.match(main.stderr, /remote rejected\] main \(chaperone: denied by policy: .*deleting refs\/heads\/main/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receivePosts(before), 0);
  });

  it('records each push with its parsed ref updates in ClickHouse and replay', async () => {
    const pushes = await commandsOf(stack, subject, 6, "action = 'git.push'");
    const updates = pushes.map((p) => ({ decision: p.decision, u: (JSON.parse(p.details) as { updates: Update[] }).updates[0]! }));
    const summary = updates.map(({ decision, u }) => `${u.name} ${u.type} force=${String(u.force)} ${decision}`);
    assert.deepEqual(summary, [
      `${branch} create force=false ALLOW`,
      `${branch} update force=false ALLOW`,
      `${branch} update force=true ALLOW`,
      'main update force=true DENY',
      `${branch} delete force=false ALLOW`,
      'main delete force=false DENY',
    ]);
    assert.match(updates[0]!.u.new, /^[0-9a-f]{40}$/);
    assert.deepEqual(pushes[0]!.targets, ['demo.git', `refs/heads/${branch}`]);
    assert.match(pushes[3]!.reasons.join(' '), /git-force-push/);
    const all = await commandsOf(stack, subject, 1, "action IN ('git.advertise', 'git.fetch', 'git.ls-refs')");
    assert.ok(all.some((c) => c.action === 'git.fetch'), 'the clone is recorded as a fetch');
    const replay = await replayOf(stack, pushes[3]!.session_id);
    assert.match(replay, /git\.push[\s\S]*DENY[\s\S]*git-force-push/);
    assert.match(replay, /refs\/heads\/main/);
    // The ref update as parsed (old..new, force push) and the decision, then what git was told.
    const main = updates[3]!.u;
    assert.match(replay, new RegExp(`\\n  ref refs/heads/main  ${main.old.slice(0, 12)}\\.\\.${main.new.slice(0, 12)}  FORCE PUSH\\n  → DENY: [^\\n]*git-force-push`));
    assert.match(replay, /→ DENY[^\n]*\n( {2}.*\n)* {2}← 200\n {2}response body \(git pkt-lines\):\n( {4}.*\n)* {4}ng refs\/heads\/main /, 'git gets its refusal in a report-status');
    const forced = await replayOf(stack, pushes[2]!.session_id);
    assert.match(forced, new RegExp(`ref refs/heads/${branch}  [0-9a-f]{12}\\.\\.[0-9a-f]{12}  FORCE PUSH\\n  → ALLOW`));
    assert.match(forced, /request body: \d+ bytes, sha256 [0-9a-f]{64}/, 'the pack as size + digest');
    assert.match(await replayOf(stack, pushes[4]!.session_id), new RegExp(`ref refs/heads/${branch}  [0-9a-f]{12}\\.\\.0{12}  delete\\n  → ALLOW`));
  });
});
