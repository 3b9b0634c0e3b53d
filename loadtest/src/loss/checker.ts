import { ABORT_FRAME_TYPE, abortToken, initSqlParser, parseSql } from '@chaperone/gateway';
import { backendPid, recordedMessages } from './frames.js';
import { cutSessions, gapFree, latestCommands, loadSessions, type LossReader, type RecordedSession } from './sessions.js';
import { parseStatementLog } from './statement-log.js';

export interface LossReport {
  /** Statements the upstream executed that no Command in ClickHouse accounts for. */
  missing: { pid: number; text: string; sessionId?: string }[];
  /** Allowed Commands the upstream never executed, in sessions their client ended (recorded twice, or forwarded and lost). */
  unexecuted: { sessionId: string; text: string }[];
  /** Allowed Commands the upstream never executed in sessions that were cut off: recorded, then not forwarded (no loss). */
  notForwarded: { sessionId: string; text: string }[];
  /** Commands the policy denied (or approvals did not approve) that the upstream executed anyway. */
  deniedButExecuted: { sessionId: string; text: string }[];
  /** Upstream backends serving the checked clients that no recorded session announced. */
  unknownBackends: number[];
  /** Sessions neither sealed nor marked incomplete (nor, with tolerateCutOff, cut off with a gap-free chain). */
  unsealed: string[];
  /** Sessions whose stored events have a hole in their seq numbers. */
  gaps: string[];
  /** With tolerateCutOff: sessions without an end whose chain is gap-free; the materializer seals them incomplete after materializer.idleTimeout. */
  cutOff: string[];
  executed: number;
  recorded: number;
  /**
   * Statements the gateway itself sent upstream to abort a transaction in which it refused a
   * statement (recorded as Frame events of type chaperone.abort-transaction, matched by token).
   */
  gatewayAborts: number;
  sessions: number;
}


export interface CheckOptions {
  /** A Store, or adminReader(executor) for stores with huge recorded sessions. */
  store: LossReader;
  /** The upstream's statement log text (from the offset where the run began is enough). */
  statementLog: string;
  /** Only statements and sessions from this time on (ms since the epoch). */
  sinceMs: number;
  /** The upstream role the gateway logs in as. */
  upstreamUser: string;
  /** Only sessions of these subjects (default: all since `sinceMs`). */
  subjects?: string[];
  /** Also require every session to be sealed or marked incomplete. @default true */
  requireSealed?: boolean;
  /**
   * The application_name every checked client sets: a backend with that name that no checked
   * session owns is an unrecorded session (reported in unknownBackends). Without subjects every
   * unowned backend of upstreamUser counts.
   */
  applicationName?: string;
  /**
   * Accept sessions that have no end yet but a gap-free chain (a SIGKILLed node, a Kafka outage:
   * the materializer seals them incomplete only after materializer.idleTimeout) as `cutOff`.
   * @default false
   */
  tolerateCutOff?: boolean;
  /** Sessions already loaded for this scope (checkRun shares them between checkers). */
  sessions?: RecordedSession[];
}

/** The statements of one logged query string, split as the gateway splits them. */
function splitLogged(text: string): string[] {
  const parsed = parseSql(text);
  return parsed.statements.length > 0 ? parsed.statements.map((s) => s.text) : [text];
}

function take(bag: Map<string, number> | undefined, key: string): boolean {
  const n = bag?.get(key) ?? 0;
  if (n === 0) return false;
  bag!.set(key, n - 1);
  return true;
}

function add(bags: Map<string, Map<string, number>>, sid: string, text: string): void {
  const bag = bags.get(sid) ?? new Map<string, number>();
  bag.set(text, (bag.get(text) ?? 0) + 1);
  bags.set(sid, bag);
}

/**
 * Upstream backend pid → the sessions that owned it, by the time the session received the
 * backend's BackendKeyData. PostgreSQL reuses pids (pid_max is 32768 on many machines), so a
 * statement belongs to the last owner announced before it ran.
 */
export class BackendOwners {
  private readonly byPid = new Map<number, { atMs: number; sessionId: string }[]>();

  add(pid: number, atMicros: number, sessionId: string): void {
    const list = this.byPid.get(pid) ?? [];
    list.push({ atMs: atMicros / 1000, sessionId });
    list.sort((a, b) => a.atMs - b.atMs);
    this.byPid.set(pid, list);
  }

  /** The owner of `pid` at `tsMs` (log timestamps have ms precision, hence the 1 ms slack). */
  ownerAt(pid: number, tsMs: number): string | undefined {
    const list = this.byPid.get(pid);
    let owner: string | undefined;
    for (const o of list ?? []) if (o.atMs <= tsMs + 1) owner = o.sessionId;
    return owner;
  }
}

/** Sessions that break the sealing rule, and those accepted as cut off. */
export function sealProblems(sessions: RecordedSession[], tolerateCutOff: boolean): Pick<LossReport, 'unsealed' | 'gaps' | 'cutOff'> {
  const out = { unsealed: [] as string[], gaps: [] as string[], cutOff: [] as string[] };
  for (const s of sessions) {
    if (s.events > 0 && !gapFree(s)) out.gaps.push(s.sessionId);
    if (s.state === 'sealed' || s.state === 'incomplete') continue;
    if (s.state === 'open' && tolerateCutOff && gapFree(s)) out.cutOff.push(s.sessionId);
    else out.unsealed.push(s.sessionId);
  }
  return out;
}

/**
 * The ground-truth check for PostgreSQL: every statement the upstream executed appears exactly
 * once as an allowed Command of the session that owned that upstream backend at the time
 * (matched by the BackendKeyData pid recorded in the session), no refused Command was
 * executed, every allowed Command was executed (or its session was cut off), every backend of
 * the checked clients belongs to a recorded session, and every session is sealed.
 */
export async function checkLoss(opts: CheckOptions): Promise<LossReport> {
  await initSqlParser();
  const scope = { store: opts.store, sinceMs: opts.sinceMs, subjects: opts.subjects };
  const sessions = opts.sessions ?? (await loadSessions(scope));
  const cut = cutSessions(sessions);
  const report: LossReport = {
    missing: [], unexecuted: [], notForwarded: [], deniedButExecuted: [], unknownBackends: [], unsealed: [], gaps: [], cutOff: [],
    executed: 0, recorded: 0, gatewayAborts: 0, sessions: sessions.length,
  };
  if (opts.requireSealed ?? true) Object.assign(report, sealProblems(sessions, opts.tolerateCutOff ?? false));
  // BackendKeyData usually shares its frame with AuthenticationOk, ParameterStatus and
  // ReadyForQuery (one forwarded write): found by message_types and cut out at its offset.
  const owners = new BackendOwners();
  for (const k of await recordedMessages(scope, 'BackendKeyData')) {
    const pid = backendPid(k.message);
    if (pid !== undefined) owners.add(pid, k.tsMicros, k.sessionId);
  }
  const cmds = await opts.store.query(`SELECT session_id, text, decision, approval_outcome FROM (${latestCommands(scope, ['protocol', 'text', 'decision', 'approval_outcome'], "protocol = 'postgres'")})`, {
    readonly: true,
    maxRows: 10_000_000,
  });
  const allowed = new Map<string, Map<string, number>>();
  const refused = new Map<string, Map<string, number>>();
  for (const [sid, text, decision, outcome] of cmds.rows) {
    // A held statement runs only once approvers said yes (or an earlier yes is reused).
    const runs = decision === 'ALLOW' || decision === 'MASK' || (decision === 'APPROVAL' && (outcome === 'APPROVED' || outcome === 'REUSED'));
    add(runs ? allowed : refused, sid!, text!);
    if (runs) report.recorded++;
  }
  // The gateway's own statements: each must be recorded in the session whose backend ran it.
  const abortTokens = new Set<string>();
  for (const a of await recordedMessages(scope, ABORT_FRAME_TYPE)) {
    const token = abortToken(a.message.toString('latin1'));
    if (token) abortTokens.add(`${a.sessionId} ${token}`);
  }
  const logged = parseStatementLog(opts.statementLog, { sinceMs: opts.sinceMs - 1000, user: opts.upstreamUser });
  const unknown = new Set<number>();
  const checkedApp = (app: string) => (opts.applicationName ? app === opts.applicationName : !opts.subjects?.length);
  for (const st of logged) {
    const sid = owners.ownerAt(st.pid, st.tsMs);
    if (!sid) {
      if (checkedApp(st.app)) unknown.add(st.pid);
      continue;
    }
    const token = abortToken(st.text);
    if (token !== undefined && abortTokens.has(`${sid} ${token}`)) {
      report.gatewayAborts++;
      continue;
    }
    for (const text of splitLogged(st.text)) {
      report.executed++;
      if (take(allowed.get(sid), text)) continue;
      if ((refused.get(sid)?.get(text) ?? 0) > 0) report.deniedButExecuted.push({ sessionId: sid, text });
      else report.missing.push({ pid: st.pid, text, sessionId: sid });
    }
  }
  for (const [sid, bag] of allowed)
    for (const [text, n] of bag) for (let i = 0; i < n; i++) (cut.has(sid) ? report.notForwarded : report.unexecuted).push({ sessionId: sid, text });
  report.unknownBackends = [...unknown];
  return report;
}

/** True when the report shows zero loss (cut-off sessions and not-forwarded commands are no loss). */
export function lossFree(r: LossReport): boolean {
  return r.missing.length + r.unexecuted.length + r.deniedButExecuted.length + r.unknownBackends.length + r.unsealed.length + r.gaps.length === 0;
}
