import { mcpArgsSha256 } from '@chaperone/gateway';
import { cutSessions, latestCommands, loadSessions, type LossReader, type RecordedSession } from './sessions.js';

// MCP ground truth: the server's own log of the tool calls it executed, against the recorded
// tools/call commands. The key of a call is its tool and the SHA-256 of its canonical arguments,
// computed by the gateway's own function (the one approvals are bound to).

/** One tool call the MCP server executed (its own log). */
export interface ExecutedToolCall {
  tool: string;
  args: unknown;
}

export interface McpLossReport {
  /** Calls the server executed more often than allowed (or approved) calls were recorded: unrecorded calls. */
  missing: { call: string; executed: number; recorded: number }[];
  /** Allowed (or approved) recorded calls the server never executed, in sessions their client ended. */
  unexecuted: { call: string; sessionId: string }[];
  /** The same in cut-off sessions: recorded, then not forwarded (no loss). */
  notForwarded: { call: string; sessionId: string }[];
  /** Calls the server executed that were only ever recorded as refused (denied, or held and not approved). */
  deniedButExecuted: { call: string; sessionId: string }[];
  executed: number;
  recorded: number;
}

export interface McpCheckOptions {
  store: LossReader;
  sinceMs: number;
  subjects?: string[];
  /** The MCP connection (server) the calls went through. */
  connection: string;
  executed: ExecutedToolCall[];
  sessions?: RecordedSession[];
}

export function toolCallKey(tool: string, args: unknown): string {
  return `${tool} sha256:${mcpArgsSha256(args)}`;
}

/**
 * Every call the server executed is recorded as allowed (or held and approved) as often as it
 * was executed; every such record was executed (or its session was cut off); nothing refused
 * was executed.
 */
export async function checkMcpLoss(opts: McpCheckOptions): Promise<McpLossReport> {
  const scope = { store: opts.store, sinceMs: opts.sinceMs, subjects: opts.subjects };
  const cut = cutSessions(opts.sessions ?? (await loadSessions(scope)));
  const rows = await opts.store.query(
    `SELECT session_id, text, decision, approval_outcome FROM (${latestCommands(scope, ['protocol', 'action', 'connection', 'text', 'decision', 'approval_outcome'], `protocol = 'mcp' AND action = 'tools/call' AND connection = '${opts.connection.replace(/'/g, "\\'")}'`)})`,
    { readonly: true, maxRows: 1_000_000 },
  );
  const executed = new Map<string, number>();
  for (const c of opts.executed) executed.set(toolCallKey(c.tool, c.args), (executed.get(toolCallKey(c.tool, c.args)) ?? 0) + 1);
  const runnable: { call: string; sessionId: string }[] = [];
  const refused: { call: string; sessionId: string }[] = [];
  for (const [sid, text, decision, outcome] of rows.rows) {
    const call = { call: text!.replace(/^tools\/call /, ''), sessionId: sid! };
    const runs = decision === 'ALLOW' || (decision === 'APPROVAL' && (outcome === 'APPROVED' || outcome === 'REUSED'));
    (runs ? runnable : refused).push(call);
  }
  const report: McpLossReport = { missing: [], unexecuted: [], notForwarded: [], deniedButExecuted: [], executed: opts.executed.length, recorded: runnable.length };
  const left = new Map(executed);
  for (const r of runnable) {
    const n = left.get(r.call) ?? 0;
    if (n > 0) left.set(r.call, n - 1);
    else (cut.has(r.sessionId) ? report.notForwarded : report.unexecuted).push(r);
  }
  for (const [call, n] of left) {
    if (n === 0) continue;
    const denied = refused.find((r) => r.call === call);
    if (denied && !runnable.some((r) => r.call === call)) report.deniedButExecuted.push(denied);
    else report.missing.push({ call, executed: executed.get(call) ?? 0, recorded: runnable.filter((r) => r.call === call).length });
  }
  return report;
}
