import { initSqlParser, parseSql } from '@chaperone/gateway';
import type { Store } from '@chaperone/store';
import { parseStatementLog } from './statement-log.js';

export interface LossReport {
  /** Statements the upstream executed that no Command in ClickHouse accounts for. */
  missing: { pid: number; text: string; sessionId?: string }[];
  /** Allowed Commands the upstream never executed (recorded twice, or forwarded and lost). */
  unexecuted: { sessionId: string; text: string }[];
  /** Commands the policy denied that the upstream executed anyway. */
  deniedButExecuted: { sessionId: string; text: string }[];
  /** Upstream backends serving a gateway user that no recorded session announced. */
  unknownBackends: number[];
  /** Sessions neither sealed nor marked incomplete. */
  unsealed: string[];
  executed: number;
  recorded: number;
  sessions: number;
}

export interface CheckOptions {
  store: Store;
  statementLog: string;
  /** Only statements and sessions from this time on (ms since the epoch). */
  sinceMs: number;
  /** The upstream role the gateway logs in as. */
  upstreamUser: string;
  /** Only sessions of these subjects (default: all since `sinceMs`). */
  subjects?: string[];
  /** Also require every session to be sealed or marked incomplete. @default true */
  requireSealed?: boolean;
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The statements of one logged query string, split as the gateway splits them. */
function splitLogged(text: string): string[] {
  const parsed = parseSql(text);
  return parsed.statements.length > 0 ? parsed.statements.map((s) => s.text) : [text];
}

function take(bag: Map<string, number>, key: string): boolean {
  const n = bag.get(key) ?? 0;
  if (n === 0) return false;
  bag.set(key, n - 1);
  return true;
}

/**
 * The ground-truth check: every statement the upstream executed appears exactly once as an
 * allowed Command of the session that owns that upstream backend (matched by the
 * BackendKeyData pid recorded in the session), no denied Command was executed, and every
 * allowed Command was executed.
 */
export async function checkLoss(opts: CheckOptions): Promise<LossReport> {
  await initSqlParser();
  const sinceS = Math.floor(opts.sinceMs / 1000) - 1;
  const subjects = opts.subjects?.length ? `AND subject IN (${opts.subjects.map(q).join(',')})` : '';
  const sessionsRes = await opts.store.query(
    `SELECT session_id, toUInt8(last_seq > 0 OR complete = 0) AS closed, sealed, complete FROM sessions FINAL WHERE started_at >= ${sinceS} ${subjects}`,
    { readonly: true, maxRows: 1_000_000 },
  );
  const sessionIds = sessionsRes.rows.map((r) => r[0]!);
  const report: LossReport = { missing: [], unexecuted: [], deniedButExecuted: [], unknownBackends: [], unsealed: [], executed: 0, recorded: 0, sessions: sessionIds.length };
  if (opts.requireSealed ?? true) report.unsealed = sessionsRes.rows.filter((r) => r[2] !== '1' && r[3] !== '0').map((r) => r[0]!);
  const inSessions = sessionIds.length ? `session_id IN (${sessionIds.map(q).join(',')})` : '0';
  const keys = await opts.store.query(`SELECT session_id, hex(payload) FROM events FINAL WHERE ${inSessions} AND message_type = 'BackendKeyData'`, { readonly: true, maxRows: 1_000_000 });
  const sessionByPid = new Map<number, string>();
  for (const [sid, hex] of keys.rows) sessionByPid.set(Buffer.from(hex!, 'hex').readInt32BE(5), sid!);
  const cmds = await opts.store.query(`SELECT session_id, text, decision FROM commands FINAL WHERE ${inSessions} AND protocol = 'postgres'`, { readonly: true, maxRows: 10_000_000 });
  const allowed = new Map<string, Map<string, number>>();
  const denied = new Map<string, Map<string, number>>();
  for (const [sid, text, decision] of cmds.rows) {
    const bags = decision === 'ALLOW' ? allowed : denied;
    const bag = bags.get(sid!) ?? new Map<string, number>();
    bag.set(text!, (bag.get(text!) ?? 0) + 1);
    bags.set(sid!, bag);
    if (decision === 'ALLOW') report.recorded++;
  }
  const logged = parseStatementLog(opts.statementLog, { sinceMs: opts.sinceMs - 1000, user: opts.upstreamUser });
  const unknown = new Set<number>();
  for (const st of logged) {
    const sid = sessionByPid.get(st.pid);
    if (!sid) {
      unknown.add(st.pid);
      continue;
    }
    for (const text of splitLogged(st.text)) {
      report.executed++;
      if (take(allowed.get(sid) ?? new Map<string, number>(), text)) continue;
      if ((denied.get(sid)?.get(text) ?? 0) > 0) report.deniedButExecuted.push({ sessionId: sid, text });
      else report.missing.push({ pid: st.pid, text, sessionId: sid });
    }
  }
  for (const [sid, bag] of allowed) for (const [text, n] of bag) for (let i = 0; i < n; i++) report.unexecuted.push({ sessionId: sid, text });
  report.unknownBackends = opts.subjects?.length ? [] : [...unknown];
  return report;
}

/** True when the report shows zero loss. */
export function lossFree(r: LossReport): boolean {
  return r.missing.length + r.unexecuted.length + r.deniedButExecuted.length + r.unknownBackends.length + r.unsealed.length === 0;
}
