// One MCP session as one transcript (issue #15). An MCP session (its Mcp-Session-Id) may be
// served by several gateway nodes, each recording its own gateway session; the SOC wants it as
// one: every gateway session whose MCP commands carry that id, their commands merged in time
// order, each with a note of the node (and gateway session) that served it.

import type { Transcript, TranscriptCommand } from './transcript.js';

/** A command of the merged transcript: which gateway session, on which node, served it. */
export type McpTranscriptCommand = TranscriptCommand & { sessionId: string; nodeId: string };

export interface McpTranscript {
  mcpSessionId: string;
  /** The gateway sessions, in the order they started. */
  sessions: Transcript[];
  /** Every command of those sessions, in time order. */
  commands: McpTranscriptCommand[];
}

/**
 * The SQL (SOC `chaperone sql`, the API's Query operation) that finds the gateway sessions of one
 * Mcp-Session-Id, oldest first, with the node that served each. The store's ClickHouse (18.16)
 * has no query parameters: the id is quoted here, and only visible ASCII is accepted (what the
 * MCP specification allows in the header, "Session Management").
 */
export function mcpSessionsQuery(mcpSessionId: string): string {
  if (!/^[\x21-\x7e]{1,256}$/.test(mcpSessionId)) throw new RangeError(`not an Mcp-Session-Id (1 to 256 visible ASCII characters): ${JSON.stringify(mcpSessionId)}`);
  const quoted = `'${mcpSessionId.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return (
    'SELECT session_id, node_id FROM sessions FINAL WHERE session_id IN (' +
    `SELECT session_id FROM commands FINAL WHERE protocol = 'mcp' AND visitParamExtractString(details, 'mcpSessionId') = ${quoted}` +
    ') ORDER BY started_micros, session_id'
  );
}

/** The gateway sessions' transcripts as one, commands in time order (then by session and sequence). */
export function mergeMcpTranscripts(mcpSessionId: string, transcripts: Transcript[]): McpTranscript {
  const started = (t: Transcript) => t.started?.tsMicros ?? t.commands[0]?.tsMicros ?? 0;
  const sessions = [...transcripts].sort((a, b) => started(a) - started(b) || a.sessionId.localeCompare(b.sessionId));
  const commands = sessions
    .flatMap((t) => t.commands.map((c) => ({ ...c, sessionId: t.sessionId, nodeId: t.nodeId })))
    .sort((a, b) => a.tsMicros - b.tsMicros || a.sessionId.localeCompare(b.sessionId) || a.seq - b.seq);
  return { mcpSessionId, sessions, commands };
}

/** What a session's replay printed for one event (LiveTranscript.push), with when and where it happened. */
export interface TimedText {
  tsMicros: number;
  sessionId: string;
  nodeId: string;
  text: string;
}

/** Where a new part of a replay starts: a session's header or end, or a command's `[12:00:00.000000] #n` line. */
const PART_START = /^(?=Session |ended |\[\d\d:\d\d:\d\d)/m;

/**
 * A replay's text cut into parts, each timed by where it starts: a command with everything
 * printed for it (its decision, approval, and the response body, which LiveTranscript prints only
 * when the next event comes) stays together, at the command's time.
 */
function partsOf(texts: TimedText[]): TimedText[] {
  const out: TimedText[] = [];
  for (const t of texts) {
    t.text.split(PART_START).forEach((piece, k) => {
      if (piece === '') return;
      const last = out.at(-1);
      if (k === 0 && last && !PART_START.test(piece)) last.text += piece;
      else out.push({ ...t, text: piece });
    });
  }
  return out;
}

/**
 * The gateway sessions' replays (each as LiveTranscript renders it: the header, every call with
 * its MCP details, decision, approval and the JSON-RPC messages of its bodies) interleaved in time
 * order, a call at a time; a line names the node and gateway session whenever the next part
 * comes from another.
 */
export function interleaveMcpReplays(mcpSessionId: string, replays: TimedText[][]): string {
  const nodes = [...new Set(replays.flatMap((p) => p.map((t) => t.nodeId)))];
  const all = replays
    .flatMap((p, i) => partsOf(p).map((t, j) => ({ ...t, i, j })))
    .sort((a, b) => a.tsMicros - b.tsMicros || a.i - b.i || a.j - b.j);
  const out = [`MCP session ${mcpSessionId}: ${replays.length} gateway session${replays.length === 1 ? '' : 's'} on ${nodes.join(', ') || 'no node'}, in time order\n\n`];
  let from: string | undefined;
  for (const t of all) {
    if (t.sessionId !== from) out.push(`── served by node ${t.nodeId}, gateway session ${t.sessionId} ──\n`);
    from = t.sessionId;
    out.push(t.text);
  }
  return out.join('');
}
