import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { checkHttpLoss, type HttpLossReport, type HttpRoute } from './access-log.js';
import { checkLoss, lossFree, sealProblems, type LossReport } from './checker.js';
import { checkGitRefs, type GitRefsReport } from './git-refs.js';
import { checkMcpLoss, type ExecutedToolCall, type McpLossReport } from './mcp.js';
import { loadSessions, type LossReader, type RecordedSession } from './sessions.js';

/** Everything the loss checker compares for one run, across protocols. */
export interface RunCheckOptions {
  store: LossReader;
  sinceMs: number;
  subjects: string[];
  postgres?: { statementLog: string; upstreamUser: string; applicationName?: string };
  http?: HttpRoute[];
  git?: { repoDir: string; repo: string };
  /** An MCP server's own log of the tool calls it executed, and the connection they went through. */
  mcp?: { connection: string; executed: ExecutedToolCall[] };
  /** See CheckOptions.tolerateCutOff. @default false */
  tolerateCutOff?: boolean;
}

export interface RunLossReport {
  postgres: LossReport | undefined;
  http: HttpLossReport | undefined;
  git: GitRefsReport | undefined;
  mcp: McpLossReport | undefined;
  sessions: { total: number; sealed: number; incomplete: number; cutOff: number; unsealed: number; byNode: Record<string, number> };
  /** Zero missing, zero unrecorded, nothing refused executed, every session sealed (or accepted as cut off). */
  ok: boolean;
  /** One line per problem, for people. */
  problems: string[];
}

/** Text of a log file from a byte offset (what a run appended since it began); only that part is read. */
export function readLogFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(Math.max(0, fstatSync(fd).size - offset));
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, offset + at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Current size of a log file (0 when it does not exist): the offset a run starts reading at. */
export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function count<T>(what: string, items: T[], show: (t: T) => string, out: string[]): void {
  if (items.length === 0) return;
  const sample = items.slice(0, 3).map(show).join('; ');
  out.push(`${items.length} ${what}${sample ? `: ${sample}${items.length > 3 ? '; …' : ''}` : ''}`);
}

const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 79)}…` : s).replace(/\s+/g, ' ');

/** Runs every applicable checker over one shared view of the sessions, and sums up. */
export async function checkRun(opts: RunCheckOptions): Promise<RunLossReport> {
  const scope = { store: opts.store, sinceMs: opts.sinceMs, subjects: opts.subjects };
  const sessions: RecordedSession[] = await loadSessions(scope);
  const shared = { ...scope, sessions };
  const seal = sealProblems(sessions, opts.tolerateCutOff ?? false);
  const postgres = opts.postgres
    ? await checkLoss({ ...shared, statementLog: opts.postgres.statementLog, upstreamUser: opts.postgres.upstreamUser, requireSealed: false, ...(opts.postgres.applicationName ? { applicationName: opts.postgres.applicationName } : {}), tolerateCutOff: opts.tolerateCutOff ?? false })
    : undefined;
  const http = opts.http?.length ? await checkHttpLoss({ ...shared, routes: opts.http }) : undefined;
  const git = opts.git ? await checkGitRefs({ ...shared, ...opts.git }) : undefined;
  const mcp = opts.mcp ? await checkMcpLoss({ ...shared, ...opts.mcp }) : undefined;
  const problems: string[] = [];
  if (postgres) {
    count('PostgreSQL statements executed but not recorded', postgres.missing, (m) => clip(m.text), problems);
    count('PostgreSQL commands recorded but not executed (in sessions the client ended)', postgres.unexecuted, (m) => clip(m.text), problems);
    count('refused PostgreSQL statements executed', postgres.deniedButExecuted, (m) => clip(m.text), problems);
    count('upstream backends of the run without a recorded session', postgres.unknownBackends, (p) => `pid ${p}`, problems);
  }
  count('sessions neither sealed nor marked incomplete', seal.unsealed, (s) => s, problems);
  count('sessions with a hole in their event sequence', seal.gaps, (s) => s, problems);
  if (http) {
    count('HTTP requests served but not recorded', http.missing, (m) => clip(`${m.connection}: ${m.request}`), problems);
    count('HTTP commands recorded but not served (in sessions the client ended)', http.unexecuted, (m) => clip(`${m.connection}: ${m.request}`), problems);
    count('refused HTTP requests served', http.deniedButExecuted, (m) => clip(`${m.connection}: ${m.request}`), problems);
  }
  if (git) {
    count('git branches pushed but not recorded', git.missing, (m) => `${m.ref} ${m.sha.slice(0, 8)}`, problems);
    count('git pushes recorded but not landed (in sessions the client ended)', git.unexecuted, (m) => `${m.ref} ${m.sha.slice(0, 8)}`, problems);
    count('refused git pushes landed', git.deniedButExecuted, (m) => m.ref, problems);
  }
  if (mcp) {
    count('MCP tool calls executed but not recorded', mcp.missing, (m) => clip(`${m.call} (executed ${m.executed}, recorded ${m.recorded})`), problems);
    count('MCP tool calls recorded as allowed but not executed (in sessions the client ended)', mcp.unexecuted, (m) => clip(m.call), problems);
    count('refused MCP tool calls executed', mcp.deniedButExecuted, (m) => clip(m.call), problems);
  }
  const byNode: Record<string, number> = {};
  for (const s of sessions) byNode[s.nodeId] = (byNode[s.nodeId] ?? 0) + 1;
  return {
    postgres,
    http,
    git,
    mcp,
    sessions: {
      total: sessions.length,
      sealed: sessions.filter((s) => s.state === 'sealed').length,
      incomplete: sessions.filter((s) => s.state === 'incomplete').length,
      cutOff: seal.cutOff.length,
      unsealed: seal.unsealed.length,
      byNode,
    },
    ok: (postgres ? lossFree(postgres) : true) && problems.length === 0,
    problems,
  };
}

/** A short human summary of a run's loss report. */
export function formatLossReport(r: RunLossReport): string {
  const lines = [`loss check: ${r.ok ? 'PASS' : 'FAIL'} — ${r.sessions.total} sessions (${r.sessions.sealed} sealed, ${r.sessions.incomplete} marked incomplete, ${r.sessions.cutOff} cut off awaiting their incomplete seal)`];
  if (r.postgres) {
    const aborts = r.postgres.gatewayAborts > 0 ? `, ${r.postgres.gatewayAborts} transactions aborted by the gateway after a refusal (recorded)` : '';
    lines.push(`  postgres: ${r.postgres.executed} statements executed upstream, ${r.postgres.recorded} allowed commands recorded, ${r.postgres.notForwarded.length} recorded but not forwarded (cut off)${aborts}`);
  }
  if (r.http) lines.push(`  http: ${r.http.executed} requests served upstream, ${r.http.recorded} allowed commands recorded, ${r.http.notForwarded.length} recorded but not forwarded (cut off)`);
  if (r.git) lines.push(`  git: ${r.git.refs} branches in the repository, ${r.git.pushes} recorded ref updates, ${r.git.notForwarded.length} recorded but not landed (cut off)`);
  if (r.mcp) lines.push(`  mcp: ${r.mcp.executed} tool calls executed by the server, ${r.mcp.recorded} allowed calls recorded, ${r.mcp.notForwarded.length} recorded but not forwarded (cut off)`);
  for (const p of r.problems) lines.push(`  ✗ ${p}`);
  return lines.join('\n');
}
