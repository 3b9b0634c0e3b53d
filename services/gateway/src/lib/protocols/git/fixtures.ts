/**
 * Fixtures made by the real git at test time: repositories, push request bodies exactly as
 * `git push` sends them (command list + thin pack from pack-objects) and v2 fetch responses.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLUSH_PKT, pktLine } from './pktline.js';

export const ZERO = '0'.repeat(40);

export class GitFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'chaperone-git-'));
  private n = 0;

  constructor() {
    this.git('init', '-q', '-b', 'main');
    this.git('config', 'user.email', 'fixture@example.com');
    this.git('config', 'user.name', 'fixture');
  }

  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: this.dir } }).trim();
  }

  gitBytes(args: string[], input: string | Buffer, env: Record<string, string> = {}): Buffer {
    return execFileSync('git', args, { cwd: this.dir, input, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: this.dir, ...env } });
  }

  /** A commit changing one file; message padded so that git deltifies similar commits. */
  commit(message = `commit ${++this.n}`, content = `content ${this.n}\n`): string {
    writeFileSync(join(this.dir, `f${this.n % 3}.txt`), content);
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** The pack `git push` would send for `tip` when the server has `have` (pack-objects --thin). */
  pack(tip: string, haves: string[]): Buffer {
    return this.gitBytes(['pack-objects', '--stdout', '--revs', '--thin', '--delta-base-offset', '-q'], [tip, ...haves.map((h) => `^${h}`)].join('\n') + '\n');
  }

  /** A receive-pack request body: commands (capabilities on the first) + flush + pack. */
  pushBody(updates: [old: string, now: string, ref: string][], pack: Buffer | undefined, caps = 'report-status side-band-64k quiet object-format=sha1 agent=git/2.39.5'): Buffer {
    const lines = updates.map(([o, n, r], i) => pktLine(i === 0 ? `${o} ${n} ${r}\0 ${caps}` : `${o} ${n} ${r}`));
    return Buffer.concat([...lines, FLUSH_PKT, ...(pack ? [pack] : [])]);
  }

  /** What `git upload-pack --stateless-rpc` answers to a v2 fetch request. */
  uploadPackV2(request: Buffer): Buffer {
    return this.gitBytes(['upload-pack', '--stateless-rpc', '.'], request, { GIT_PROTOCOL: 'version=2' });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
