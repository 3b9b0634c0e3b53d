import type { Transcript, TranscriptCommand } from './transcript.js';

export interface FormatOptions {
  /** Result rows shown per command. @default 50 */
  maxRows?: number;
  /** Widest column, in characters. @default 60 */
  maxWidth?: number;
}

/** `2026-01-15 12:00:00.123456 UTC` */
export function formatMicros(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros % 1_000_000).padStart(6, '0')} UTC`;
}

const oneLine = (v: string) => v.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');

/** An aligned text table, cells clipped to maxWidth. */
/** "1 event", "2 events". */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * The counts line under a session's header, in the full transcript and when a live one ends, with
 * the words `chaperone sessions show` uses: frames are recorded Frame events (one forwarded write
 * each), messages the protocol messages in them.
 */
export function countsLine(events: number, commands: number, frames: InOut, messages: InOut): string {
  return (
    `  ${count(events, 'event')}, ${count(commands, 'command')}, ` +
    `${count(frames.in, 'frame')} (${count(messages.in, 'message')}) in, ${count(frames.out, 'frame')} (${count(messages.out, 'message')}) out`
  );
}

/** A count per direction: in = client to server, out = server to client. */
export interface InOut {
  in: number;
  out: number;
}

export function formatTable(columns: readonly string[], rows: readonly (readonly (string | null)[])[], maxWidth = 60): string[] {
  const cell = (v: string | null | undefined) => (v === null || v === undefined ? 'NULL' : oneLine(v));
  const widths = columns.map((c, i) => Math.min(maxWidth, Math.max(c.length, ...rows.map((r) => cell(r[i]).length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line([...columns]), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((_, i) => cell(r[i]))))];
}

function decisionText(c: TranscriptCommand): string {
  if (!c.decision) return c.commandId === 0 ? '(no command recorded)' : '(no decision recorded)';
  const reasons = c.decision.reasons.length ? `: ${c.decision.reasons.join('; ')}` : '';
  return `${c.decision.result}${reasons} (policy ${c.decision.policyRevision || '?'})`;
}

function commandLines(c: TranscriptCommand, o: Required<FormatOptions>): string[] {
  const time = formatMicros(c.tsMicros).slice(11, 26);
  const head = `[${time}] ${c.commandId ? `#${c.commandId} ` : ''}${c.action ? `${c.action}  ` : ''}${decisionText(c)}`;
  const out = [head, ...c.text.split('\n').map((l) => `  ${l}`)];
  if (c.approval)
    out.push(
      `  approval ${c.approval.approvalId}: ${c.approval.outcome ?? 'requested'}` +
        `${c.approval.approvers?.length ? ` by ${c.approval.approvers.join(', ')}` : ''}${c.approval.reason ? ` (${c.approval.reason})` : ''}`,
    );
  const r = c.result;
  if (r.columns) {
    out.push('', ...formatTable(r.columns, r.rows.slice(0, o.maxRows), o.maxWidth).map((l) => `  ${l}`));
    if (r.rows.length > o.maxRows) out.push(`  … ${r.rows.length - o.maxRows} more rows`);
  }
  if (r.tag) out.push(`  (${r.tag})`);
  if (r.error) out.push(`  ${r.error.severity} ${r.error.code}: ${r.error.message}${r.error.detail ? ` — ${r.error.detail}` : ''}`);
  if (r.notExecuted) out.push('  (not executed: a statement before it in the same pipeline failed)');
  return [...out, ''];
}

/** The transcript as text for a terminal. */
export function formatTranscript(t: Transcript, opts: FormatOptions = {}): string {
  const o = { maxRows: opts.maxRows ?? 50, maxWidth: opts.maxWidth ?? 60 };
  const s = t.started;
  const lines = [`Session ${t.sessionId}${s ? `  ${s.protocol} via connection ${s.connection}` : ''}`];
  if (s) {
    const groups = s.identity.groups.length ? `, groups ${s.identity.groups.join(', ')}` : '';
    lines.push(
      `  identity  ${s.identity.subject} (issuer ${s.identity.issuer}${groups}${s.identity.tokenId ? `, token ${s.identity.tokenId}` : ''})`,
      `  client    ${s.clientAddress}${s.tls ? ' (TLS)' : ''}    node ${t.nodeId}`,
      `  started   ${formatMicros(s.tsMicros)}`,
    );
  } else lines.push('  (SessionStarted not recorded)');
  const e = t.ended;
  if (e) {
    const seal = e.sealed ? `sealed by ${e.sealedBy}` : 'not sealed';
    lines.push(`  ended     ${formatMicros(e.tsMicros)}  (${e.reason}${e.error ? `: ${e.error}` : ''}; ${seal}${e.complete ? '' : '; INCOMPLETE'})`);
  } else lines.push('  ended     (still open, or its end is not recorded yet)');
  lines.push(countsLine(t.events, t.commands.length, t.frames, t.messages), '');
  for (const c of t.commands) lines.push(...commandLines(c, o));
  return `${lines.join('\n').trimEnd()}\n`;
}
