/**
 * Reads the upstream PostgreSQL's statement log (log_statement=all with the prefix
 * '%m [%p] %q%u@%d app=%a ', see deploy/local/README.md) into executed statements per backend.
 */
export interface LoggedStatement {
  tsMs: number;
  pid: number;
  user: string;
  database: string;
  /** application_name of the backend (the gateway passes the agent's through). */
  app: string;
  kind: 'statement' | 'execute';
  text: string;
}

const LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (\S*)@(\S*) app=(.*?) ([A-Z]+): {2}(.*)$/;
const STATEMENT = /^statement: ([\s\S]*)$/;
/** `execute <name>: text`; `execute fetch from …` continues an already-counted portal. */
const EXECUTE = /^execute (?!fetch from )[^:]*: ([\s\S]*)$/;
/** A fastpath FunctionCall (libpq large objects); the gateway records it as `FUNCTION CALL <oid>`. */
const FASTPATH = /^fastpath function call: "[^"]*" \(OID (\d+)\)$/;

/** Parses log text; lines without the prefix continue the previous message (multi-line SQL). */
export function parseStatementLog(text: string, opts: { sinceMs?: number; user?: string } = {}): LoggedStatement[] {
  const out: LoggedStatement[] = [];
  let current: { tsMs: number; pid: number; user: string; database: string; app: string; level: string; message: string } | undefined;
  const flush = () => {
    if (!current || current.level !== 'LOG') return;
    if (opts.user && current.user !== opts.user) return;
    if (opts.sinceMs !== undefined && current.tsMs < opts.sinceMs) return;
    const s = STATEMENT.exec(current.message);
    const e = s ? undefined : EXECUTE.exec(current.message);
    const f = s || e ? undefined : FASTPATH.exec(current.message);
    const body = s?.[1] ?? e?.[1] ?? (f ? `FUNCTION CALL ${f[1]}` : undefined);
    if (body !== undefined) out.push({ tsMs: current.tsMs, pid: current.pid, user: current.user, database: current.database, app: current.app, kind: s ? 'statement' : 'execute', text: body });
  };
  for (const line of text.split('\n')) {
    // stderr logging indents continuation lines with one tab; anything else starts a new message
    // (server lines such as checkpoints have no user@db part and are not ours).
    if (line.startsWith('\t')) {
      if (current) current.message += `\n${line.slice(1)}`;
      continue;
    }
    flush();
    const m = LINE.exec(line);
    current = m ? { tsMs: Date.parse(`${m[1]!.replace(' ', 'T')}Z`), pid: Number(m[2]), user: m[3]!, database: m[4]!, app: m[5]!, level: m[6]!, message: m[7]! } : undefined;
  }
  flush();
  return out;
}
