// MCP sessions in a replay (issue #15): each JSON-RPC message a command with its server, tool
// and arguments (or, from the server, its params), the bodies as the JSON-RPC messages they
// carry (a JSON answer or SSE events: results and errors by id, the server's own requests and
// notifications), as recorded, i.e. masked where the gateway masked them.

const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));
const clip = (s: string, n = 400): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The parsed fields of one MCP command: who sent it, the tool or method, the arguments. */
export function mcpDetailLines(d: Record<string, unknown>): string[] {
  const from = d.direction === 'server' ? `from the server ${str(d.server)}` : `to ${str(d.server)}`;
  const what = d.tool ? `tool ${str(d.tool)}` : `method ${str(d.method)}`;
  const id = d.id === null || d.id === undefined ? '' : `  id ${str(d.id)}`;
  const session = d.mcpSessionId ? `  Mcp-Session-Id ${str(d.mcpSessionId)}` : '';
  const args = d.arguments !== undefined && d.arguments !== null && JSON.stringify(d.arguments) !== '{}' ? [`  arguments ${clip(JSON.stringify(d.arguments))}`] : [];
  return [`  ${from}  ${what}${id}${session}`, ...args];
}

/** One JSON-RPC message as a transcript line. */
function messageLine(m: Record<string, unknown>): string {
  const id = str(m.id);
  if (typeof m.method === 'string') return `${'id' in m ? `request ${id}` : 'notification'} ${m.method}${m.params ? ` ${clip(JSON.stringify(m.params), 200)}` : ''}`;
  const err = m.error as { code?: unknown; message?: unknown } | undefined;
  if (err) return `error ${id}: ${str(err.code)} ${str(err.message)}`;
  const r = m.result as { content?: { type?: string; text?: string }[]; tools?: { name?: string }[]; structuredContent?: unknown } | undefined;
  if (Array.isArray(r?.tools)) return `result ${id}: tools ${r.tools.map((t) => str(t.name)).join(', ')}`;
  const texts = Array.isArray(r?.content) ? r.content.map((c) => (c.type === 'text' ? str(c.text) : `[${str(c.type)}]`)) : [];
  return `result ${id}: ${clip(texts.length ? texts.join(' | ') : JSON.stringify(r ?? null))}`;
}

function parse(text: string): Record<string, unknown>[] | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    const list = Array.isArray(v) ? v : [v];
    return list.every((m) => m !== null && typeof m === 'object' && (m as { jsonrpc?: unknown }).jsonrpc === '2.0') ? (list as Record<string, unknown>[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A body that holds JSON-RPC messages (a JSON body, or an SSE stream whose events carry them),
 * one line per message; undefined for any other body.
 */
export function jsonRpcBodyLines(text: string): string[] | undefined {
  const whole = parse(text);
  if (whole) return whole.map(messageLine);
  if (!/^(data|event|id|:)/m.test(text)) return undefined;
  const out: string[] = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data === '') continue;
    const msgs = parse(data);
    out.push(msgs ? msgs.map(messageLine).join('; ') : `event ${clip(data, 200)}`);
  }
  return out.length > 0 ? out : undefined;
}

/** The gateway's own message to the server (its answer to a refused server request). */
export function gatewayAnswerLine(bytes: Buffer): string {
  const msgs = parse(bytes.toString('utf8'));
  return `  ⇢ the gateway answered the server in the agent's place: ${msgs ? msgs.map(messageLine).join('; ') : clip(bytes.toString('utf8'))}`;
}
