import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cutSessions, latestCommands, lit, loadSessions, type LossReader, type RecordedSession } from './sessions.js';

const exec = promisify(execFile);

export interface GitRefsReport {
  /** Branches the upstream repository holds that no allowed, recorded push created. */
  missing: { ref: string; sha: string }[];
  /** Allowed, recorded ref updates the repository does not show, in sessions their client ended. */
  unexecuted: { ref: string; sha: string; sessionId: string }[];
  /** The same in cut-off sessions (recorded, not forwarded: no loss). */
  notForwarded: { ref: string; sha: string; sessionId: string }[];
  /** Refs of refused pushes that the repository holds anyway. */
  deniedButExecuted: { ref: string; sha: string; sessionId: string }[];
  refs: number;
  pushes: number;
}

export interface GitRefsOptions {
  store: LossReader;
  sinceMs: number;
  subjects?: string[];
  /** The bare repository on the git server (e.g. $GIT_HTTP_ROOT/fleet-x.git). */
  repoDir: string;
  /** Its name as recorded in commands.targets (`fleet-x.git`). */
  repo: string;
  /** Refs that existed before the run (e.g. the seeded main). @default ['refs/heads/main'] */
  preexisting?: string[];
  sessions?: RecordedSession[];
}

interface Update {
  ref: string;
  new: string;
  type?: string;
}

/** The branch heads of a bare repository, read from disk (the git server's ground truth). */
export async function readRefs(repoDir: string): Promise<Map<string, string>> {
  const { stdout } = await exec('git', ['--git-dir', repoDir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/']);
  return new Map(stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

/**
 * Git ground truth: each branch in the repository (other than the preexisting ones) was created
 * by exactly one allowed, recorded push with that commit, and each such push landed. The check
 * assumes every push of the run creates its own branch, as the fleet's agents do.
 */
export async function checkGitRefs(opts: GitRefsOptions): Promise<GitRefsReport> {
  const scope = { store: opts.store, sinceMs: opts.sinceMs, subjects: opts.subjects };
  const cut = cutSessions(opts.sessions ?? (await loadSessions(scope)));
  const rows = await opts.store.query(
    `SELECT session_id, details, decision, approval_outcome FROM (${latestCommands(scope, ['action', 'targets', 'details', 'decision', 'approval_outcome'], `action = 'git.push' AND has(targets, ${lit(opts.repo)})`)})`,
    { readonly: true, maxRows: 1_000_000 },
  );
  const refs = await readRefs(opts.repoDir);
  for (const pre of opts.preexisting ?? ['refs/heads/main']) refs.delete(pre);
  const report: GitRefsReport = { missing: [], unexecuted: [], notForwarded: [], deniedButExecuted: [], refs: refs.size, pushes: 0 };
  const recorded = new Set<string>();
  for (const [sid, details, decision, outcome] of rows.rows) {
    const updates = (JSON.parse(details!) as { updates?: Update[] }).updates ?? [];
    const runs = decision === 'ALLOW' || (decision === 'APPROVAL' && (outcome === 'APPROVED' || outcome === 'REUSED'));
    for (const u of updates) {
      const landed = refs.get(u.ref) === u.new;
      if (runs) {
        report.pushes++;
        recorded.add(`${u.ref} ${u.new}`);
        if (!landed) (cut.has(sid!) ? report.notForwarded : report.unexecuted).push({ ref: u.ref, sha: u.new, sessionId: sid! });
      } else if (landed) report.deniedButExecuted.push({ ref: u.ref, sha: u.new, sessionId: sid! });
    }
  }
  for (const [ref, sha] of refs) if (!recorded.has(`${ref} ${sha}`) && !report.deniedButExecuted.some((d) => d.ref === ref)) report.missing.push({ ref, sha });
  return report;
}
