import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './stack.js';

export interface GitAgentOptions {
  /** The agents' HTTP endpoint (haproxy), e.g. https://127.0.0.1:8443. */
  base: string;
  /** Repository name on the git server, e.g. fleet-<run>.git. */
  repo: string;
  token: string;
  caFile: string;
  /** Where this agent keeps its clone. */
  workDir: string;
  agent: number;
  rand: () => number;
  onOpen: () => void;
}

/** Runs git with the token as a Bearer header (never on the command line) and no user config. */
function gitEnv(o: GitAgentOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: o.workDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSL_CAINFO: o.caFile,
    GIT_CONFIG_COUNT: '3',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Bearer ${o.token}`,
    GIT_CONFIG_KEY_1: 'user.name',
    GIT_CONFIG_VALUE_1: `fleet agent ${o.agent}`,
    GIT_CONFIG_KEY_2: 'user.email',
    GIT_CONFIG_VALUE_2: `agent-${o.agent}@fleet.chaperone.invalid`,
  };
}

/**
 * One agent's git work through the gateway: a clone made on first use, then fetches of main
 * and pushes of new branches (`a<agent>/<n>`, never a protected one), each push creating its
 * own branch so the loss checker can compare the repository's refs with the recorded pushes.
 */
export class GitAgent {
  private n = 0;
  private cloned = false;
  private readonly clone: string;

  constructor(private readonly o: GitAgentOptions) {
    this.clone = join(o.workDir, 'clone');
  }

  private async git(args: string[], cwd = this.clone): Promise<void> {
    const r = await run('git', args, { cwd, env: gitEnv(this.o), timeout: 60_000 });
    if (r.code !== 0) {
      const why = r.stderr.split('\n').find((l) => /fatal|error|rejected/.test(l)) ?? r.stderr.trim().split('\n').at(-1) ?? '';
      throw Object.assign(new Error(`git ${args[0]}: ${why.trim()}`), { code: `git-${args[0]}` });
    }
  }

  private async ensureClone(): Promise<void> {
    if (this.cloned) return;
    mkdirSync(this.o.workDir, { recursive: true });
    if (!existsSync(join(this.clone, '.git'))) {
      this.o.onOpen();
      await this.git(['clone', '-q', `${this.o.base}/git/${this.o.repo}`, this.clone], this.o.workDir);
    }
    this.cloned = true;
  }

  /** A fetch of main (60 %) or a push of a new branch with one new commit (40 %). */
  async op(): Promise<string> {
    await this.ensureClone();
    this.o.onOpen();
    if (this.o.rand() < 0.6) {
      await this.git(['fetch', '-q', 'origin', 'main']);
      return 'git.fetch';
    }
    const n = ++this.n;
    writeFileSync(join(this.clone, `agent-${this.o.agent}.txt`), `change ${n}\n`);
    await this.git(['add', '-A']);
    await this.git(['commit', '-q', '-m', `agent ${this.o.agent} change ${n}`]);
    await this.git(['push', '-q', 'origin', `HEAD:refs/heads/a${this.o.agent}/${n}`]);
    return 'git.push';
  }
}

/** Creates the run's bare repository on the git server (seeded with one commit on main). */
export async function createFleetRepo(root: string, repo: string): Promise<string> {
  const dir = join(root, repo);
  if (existsSync(dir)) return dir;
  const seed = `${dir}.seed`;
  const env = { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1' };
  const steps: [string[], string?][] = [
    [['init', '-q', '--bare', '-b', 'main', dir]],
    [['init', '-q', '-b', 'main', seed]],
    [['-c', 'user.name=fleet', '-c', 'user.email=fleet@chaperone.invalid', 'commit', '-q', '--allow-empty', '-m', 'fleet seed'], seed],
    [['push', '-q', dir, 'main'], seed],
  ];
  for (const [args, cwd] of steps) {
    const r = await run('git', args, { env, ...(cwd ? { cwd } : {}) });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  }
  await run('rm', ['-rf', seed]);
  return dir;
}
