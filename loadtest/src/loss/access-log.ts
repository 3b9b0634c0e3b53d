import { cutSessions, latestCommands, lit, loadSessions, type LossReader, type RecordedSession } from './sessions.js';

/** One request an HTTP upstream served, from its access log. */
export interface AccessLogEntry {
  tsMs: number;
  method: string;
  /** The request target as the upstream received it (path and query). */
  target: string;
  status: number;
}

/**
 * Reads the deploy/local upstreams' access logs: `<iso time> <client> [<user>] "<METHOD> <url>"
 * <status> <bytes>` (json-api and the k8s stand-in without the user, git-http with it).
 */
const LINE = /^(\d{4}-\d\d-\d\dT\S+Z) \S+ (?:\S+ )?"(\S+) (\S+)" (\d{3}) \d+$/;

export function parseAccessLog(text: string, opts: { sinceMs?: number } = {}): AccessLogEntry[] {
  const out: AccessLogEntry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const tsMs = Date.parse(m[1]!);
    if (opts.sinceMs !== undefined && tsMs < opts.sinceMs) continue;
    out.push({ tsMs, method: m[2]!, target: m[3]!, status: Number(m[4]) });
  }
  return out;
}

/** One HTTP connection of the gateway and the upstream access log that shows what it executed. */
export interface HttpRoute {
  /** The connection's name in chaperone.yaml (commands.connection). */
  connection: string;
  /** The path prefix the gateway strips before forwarding ('/api', '/git'); '' when kept. */
  stripPrefix: string;
  /** The upstream's access log text (from the run's start offset is enough). */
  accessLog: string;
  /** Which upstream targets belong to the checked run (e.g. a marker in the query, or a repository). */
  includes: (target: string) => boolean;
}

export interface HttpLossReport {
  /** Requests the upstream served that no allowed Command accounts for. */
  missing: { connection: string; request: string }[];
  /** Allowed Commands the upstream never served, in sessions their client ended. */
  unexecuted: { connection: string; request: string; sessionId: string }[];
  /** Allowed Commands of cut-off sessions the upstream never served (recorded, not forwarded: no loss). */
  notForwarded: { connection: string; request: string; sessionId: string }[];
  /** Requests the upstream served although their Command was refused. */
  deniedButExecuted: { connection: string; request: string; sessionId: string }[];
  executed: number;
  recorded: number;
}

export interface HttpCheckOptions {
  store: LossReader;
  sinceMs: number;
  subjects?: string[];
  routes: HttpRoute[];
  sessions?: RecordedSession[];
}

/** `METHOD target` as the upstream saw it, from a recorded command's first text line. */
export function upstreamRequest(text: string, stripPrefix: string): string {
  const line = text.split('\n', 1)[0]!;
  const sp = line.indexOf(' ');
  const method = line.slice(0, sp);
  let target = line.slice(sp + 1);
  if (stripPrefix && target.startsWith(stripPrefix)) target = target.slice(stripPrefix.length) || '/';
  return `${method} ${target}`;
}

/**
 * Every request an upstream served for the run is one allowed Command, exactly once, and every
 * allowed Command was served (or its session was cut off). Requests are compared as multisets
 * of `METHOD target`, per connection.
 */
export async function checkHttpLoss(opts: HttpCheckOptions): Promise<HttpLossReport> {
  const scope = { store: opts.store, sinceMs: opts.sinceMs, subjects: opts.subjects };
  const cut = cutSessions(opts.sessions ?? (await loadSessions(scope)));
  const report: HttpLossReport = { missing: [], unexecuted: [], notForwarded: [], deniedButExecuted: [], executed: 0, recorded: 0 };
  if (opts.routes.length === 0) return report;
  const rows = await opts.store.query(
    `SELECT session_id, connection, text, decision, approval_outcome FROM (${latestCommands(scope, ['connection', 'text', 'decision', 'approval_outcome'], `connection IN (${opts.routes.map((r) => lit(r.connection)).join(',')})`)})`,
    { readonly: true, maxRows: 10_000_000 },
  );
  for (const route of opts.routes) {
    const allowed = new Map<string, string[]>();
    const refused = new Map<string, string>();
    for (const [sid, connection, text, decision, outcome] of rows.rows) {
      if (connection !== route.connection) continue;
      const req = upstreamRequest(text!, route.stripPrefix);
      if (!route.includes(req.slice(req.indexOf(' ') + 1))) continue;
      if (decision === 'ALLOW' || decision === 'MASK' || (decision === 'APPROVAL' && (outcome === 'APPROVED' || outcome === 'REUSED'))) {
        allowed.set(req, [...(allowed.get(req) ?? []), sid!]);
        report.recorded++;
      } else refused.set(req, sid!);
    }
    for (const e of parseAccessLog(route.accessLog, { sinceMs: opts.sinceMs - 1000 })) {
      if (!route.includes(e.target)) continue;
      report.executed++;
      const req = `${e.method} ${e.target}`;
      const owners = allowed.get(req);
      if (owners?.length) owners.shift();
      else if (refused.has(req)) report.deniedButExecuted.push({ connection: route.connection, request: req, sessionId: refused.get(req)! });
      else report.missing.push({ connection: route.connection, request: req });
    }
    for (const [request, sids] of allowed)
      for (const sessionId of sids) (cut.has(sessionId) ? report.notForwarded : report.unexecuted).push({ connection: route.connection, request, sessionId });
  }
  return report;
}
