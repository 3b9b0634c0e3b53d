/**
 * The API as the only door for people (issue #13): every call is authorized by a role from the
 * token's groups (deploy/local: soc → soc, dba/sre-oncall/security-leads → approver, admins →
 * admin). An agent token gets a permission error for sessions, replay, SQL, verify and approvals,
 * and only its own introspection (whoami); an approver who is not also soc cannot read
 * recordings; an approval decided through the API records the authenticated approver; the CLI
 * works from a folder with no configuration file, with only an API address and a token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { enterDeviceCode } from './lib/oidc-browser.js';
import { eventually, loadStack, run, type RunResult, type Stack } from './lib/stack.js';

describe('the API authorizes every call by role', { timeout: 120_000 }, () => {
  let stack: Stack;
  let issuer: TokenIssuer;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-api-noconfig-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') };
  delete env.CHAPERONE_CONFIG;
  delete env.CHAPERONE_TOKEN;
  delete env.CHAPERONE_API;

  /** The CLI as a person runs it: in an empty folder, no configuration, only --api and --token. */
  const cli = (token: string, ...args: string[]): Promise<RunResult> => run('node', [stack.CHAPERONE_CLI!, ...args, '--api', stack.API_ADDRESS!, '--token', token], { cwd: dir, env });
  const issue = (subject: string, groups: string[]) => issuer.issue({ subject, groups, ttlMs: 10 * 60_000 });

  before(async () => {
    stack = loadStack();
    issuer = await TokenIssuer.fromConfig(loadConfig(stack.CHAPERONE_CONFIG).identity);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives an agent token its own introspection and nothing else', async () => {
    const agent = await issue(`agent:e2e-api-${randomBytes(4).toString('hex')}`, ['agents']);
    const me = await cli(agent, 'whoami', '--json');
    assert.equal(me.code, 0, me.stderr);
    assert.deepEqual((JSON.parse(me.stdout) as { roles: string[] }).roles, []);
    const some = '00000000-0000-0000-0000-000000000000';
    for (const args of [['sessions', 'ls'], ['sessions', 'show', some], ['replay', some], ['sql', 'SELECT 1'], ['verify', some], ['approvals', 'ls'], ['approvals', 'approve', 'approval-00000000']]) {
      const r = await cli(agent, ...args);
      assert.notEqual(r.code, 0, `${args.join(' ')} answered an agent token`);
      assert.match(r.stderr, /needs the role .*: agent:e2e-api-\w+ has no role/, args.join(' '));
    }
  });

  it('lets an approver who is not soc answer approvals but not read recordings', async () => {
    const approver = await issue('user:alice', ['dba']);
    assert.deepEqual((JSON.parse((await cli(approver, 'whoami', '--json')).stdout) as { roles: string[] }).roles, ['approver']);
    const ls = await cli(approver, 'approvals', 'ls', '--json');
    assert.equal(ls.code, 0, ls.stderr);
    for (const args of [['sessions', 'ls'], ['sql', 'SELECT count() FROM events']]) {
      const r = await cli(approver, ...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /needs the role soc or admin: user:alice has roles approver/);
    }
    const soc = await cli(await issue('user:sam', ['soc']), 'sessions', 'ls', '--limit', '1');
    assert.equal(soc.code, 0, soc.stderr);
  });

  /** `chaperone login` (device grant) against deploy/local's OpenID provider, the code entered as `user`. */
  const login = async (user: string): Promise<RunResult> => {
    const child = spawn('node', [stack.CHAPERONE_CLI!, 'login', '--api', stack.API_ADDRESS!], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? 1)));
    const prompt = await new Promise<RegExpExecArray>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /open (\S+)[\s\S]*\(code (\S+);/.exec(stderr);
        if (m) resolve(m);
      });
      void exited.then(() => reject(new Error(`chaperone login ended before showing a code: ${stderr}`)));
    });
    await enterDeviceCode(prompt[1]!, prompt[2]!, user);
    return { code: await exited, stdout, stderr };
  };

  it('logs a person in with the device grant: the token is stored 0600 and used without --token', async () => {
    const r = await login('alice');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /logged in as user:alice \(roles: approver\)/);
    const file = join(dir, '.config', 'chaperone', 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const me = await run('node', [stack.CHAPERONE_CLI!, 'whoami', '--json'], { cwd: dir, env });
    assert.equal(me.code, 0, me.stderr);
    const who = JSON.parse(me.stdout) as { subject: string; issuer: string; groups: string[]; roles: string[] };
    assert.equal(who.subject, 'user:alice');
    assert.deepEqual(who.groups, ['dba']);
    const recordings = await run('node', [stack.CHAPERONE_CLI!, 'sessions', 'ls'], { cwd: dir, env });
    assert.match(recordings.stderr, /needs the role soc or admin: user:alice has roles approver/);
  });

  it('records the logged-in approver of an approval decided with chaperone approvals approve', async () => {
    const subject = `agent:e2e-login-${randomBytes(4).toString('hex')}`;
    const agent = await issue(subject, ['agents', 'db-writers']);
    const sql = `DELETE FROM orders -- e2e login ${randomBytes(4).toString('hex')}`;
    const held = run('psql', [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN', '-c', sql, '-c', 'ROLLBACK'], {
      env: { ...process.env, PGPASSWORD: agent, PGAPPNAME: 'e2e-login' },
    });
    const loggedIn = (...args: string[]) => run('node', [stack.CHAPERONE_CLI!, ...args], { cwd: dir, env });
    const id = await eventually('the pending approval', async () => {
      const r = await loggedIn('approvals', 'ls', '--json');
      return (JSON.parse(r.stdout || '[]') as { approvalId: string; command: string }[]).find((a) => a.command.includes(sql))?.approvalId;
    });
    const ok = await loggedIn('approvals', 'approve', id, '--reason', 'e2e login', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { state: string; status: { approver: string } };
    assert.equal(out.state, 'APPROVED');
    assert.equal(out.status.approver, 'user:alice');
    assert.equal((await held).code, 0);
    const bye = await loggedIn('logout');
    assert.match(bye.stdout, /logged out/);
    const after = await loggedIn('whoami');
    assert.notEqual(after.code, 0, 'whoami answered after logout');
  });

  it('records the authenticated approver of an approval decided through the API', async () => {
    const subject = `agent:e2e-api-${randomBytes(4).toString('hex')}`;
    const agent = await issue(subject, ['agents', 'db-writers']);
    const sql = `DELETE FROM orders -- e2e api ${randomBytes(4).toString('hex')}`;
    const held = run('psql', [`host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=demo user=${subject} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`, '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'BEGIN', '-c', sql, '-c', 'ROLLBACK'], {
      env: { ...process.env, PGPASSWORD: agent, PGAPPNAME: 'e2e-api' },
    });
    const approver = await issue('user:alice', ['dba']);
    const id = await eventually('the pending approval', async () => {
      const r = await cli(approver, 'approvals', 'ls', '--json');
      return (JSON.parse(r.stdout || '[]') as { approvalId: string; command: string }[]).find((a) => a.command.includes(sql))?.approvalId;
    });
    const self = await cli(await issue(subject, ['dba']), 'approvals', 'approve', id);
    assert.notEqual(self.code, 0, 'the requester approved its own statement');
    assert.match(self.stderr, /self-approval is not allowed/);
    const ok = await cli(approver, 'approvals', 'approve', id, '--reason', 'e2e api', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { state: string; status: { approver: string; answers: { approver: string; via: string }[] } };
    assert.equal(out.state, 'APPROVED');
    assert.equal(out.status.approver, 'user:alice');
    assert.deepEqual(out.status.answers.map((a) => [a.approver, a.via]), [['user:alice', 'api']]);
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
  });
});
