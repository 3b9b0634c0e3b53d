import type { EventBody, Frame } from '@chaperone/events';
import type { EventMsg } from '../proto.js';
import { countsLine, formatMicros, formatTable, type FormatOptions } from './format.js';
import { eventBody, maskedAt, recordedMessages, type RecordedMessage } from './frames.js';
import { commandComplete, dataRow, errorResponse, isDataRow, query, rowDescription, type PgField } from './pgwire.js';
import { ExecutionOrder, QueryMatcher } from './queries.js';
import { detailLines, HttpRenderer, isHttpMessage } from './http.js';

interface Pending {
  columns?: string[];
  rows: (string | null)[][];
  more: number;
  /** The table was printed once maxRows rows were in; only the count of the rest is left. */
  shown: boolean;
}

/** A Query message not (yet) followed by its Command. */
interface PendingQuery {
  tsMicros: number;
  sql: string;
}

/** Masking notes of one result, summed by detector and location. */
type MaskTally = Map<string, number>;

/** Backend messages that belong to one execution's result. */
const RESULT_MESSAGES = new Set(['RowDescription', 'DataRow', 'CommandComplete', 'EmptyQueryResponse', 'PortalSuspended', 'ErrorResponse']);

const time = (micros: number) => formatMicros(micros).slice(11, 26);

/**
 * The transcript rendered event by event, for replay as it happened and for following a live
 * session: a statement is printed when its Command is recorded (not when its result is), the
 * decision and approvals under it as they arrive, and the result table once it is complete or
 * once it holds maxRows rows (the rest is only counted), so a huge result starts printing with
 * its first frame. Every protocol message of a Frame is read: a session reads the same whether
 * each message had a Frame of its own (v1) or each forwarded write did (v2). `push` returns the
 * text an event adds ('' for most frames), so the caller can pace output by the events' own
 * timestamps. Memory is bounded by maxRows, whatever the session's size.
 */
export class LiveTranscript {
  private readonly o: Required<FormatOptions>;
  private fields: PgField[] | undefined;
  private result: Pending | undefined;
  private readonly queries = new QueryMatcher<PendingQuery>();
  private masks: MaskTally = new Map();
  private commands = 0;
  private frames = { in: 0, out: 0 };
  private messages = { in: 0, out: 0 };
  private events = 0;
  private readonly http = new HttpRenderer();
  /** An approval requested for the command in progress and not answered yet. */
  private held: string | undefined;
  /** Pipelined executions waiting for their results, and the command whose results are being printed. */
  private readonly order = new ExecutionOrder<number>();
  private resultOf = 0;

  constructor(opts: FormatOptions = {}) {
    this.o = { maxRows: opts.maxRows ?? 50, maxWidth: opts.maxWidth ?? 60 };
  }

  /** Text for one event (lines ending in a newline), possibly empty. */
  push(e: EventMsg): string {
    this.events++;
    const body = eventBody(e);
    if (!body) return `[${time(e.tsMicros)}] (event ${e.seq} does not decode; run \`chaperone verify ${e.sessionId}\`)\n`;
    const out = this.lines(e, body);
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /** What is still held back when the stream ends (a session that is still open). */
  end(): string {
    const out = [...this.orphans(this.queries.settle()), ...this.flushResult(), ...this.http.flush()];
    return out.length ? `${out.join('\n')}\n` : '';
  }

  private lines(e: EventMsg, body: EventBody): string[] {
    switch (body.type) {
      case 'SessionStarted': {
        const id = body.identity;
        return [
          ...this.orphans(this.queries.settle()),
          `Session ${e.sessionId}  ${body.protocol} via connection ${body.connection}`,
          `  identity  ${id.subject} (issuer ${id.issuer}${id.groups.length ? `, groups ${id.groups.join(', ')}` : ''}${id.tokenId ? `, token ${id.tokenId}` : ''})`,
          `  client    ${body.clientAddress}${body.tls ? ' (TLS)' : ''}    node ${e.nodeId}`,
          `  started   ${formatMicros(e.tsMicros)}`,
          '',
        ];
      }
      case 'Command': {
        const match = this.queries.command(body.text);
        this.commands++;
        this.held = undefined;
        if (body.protocol === 'postgres') this.order.command(body.commandId);
        this.resultOf = body.commandId;
        return [
          ...this.orphans(match.orphans),
          ...this.flushResult(),
          ...this.http.flush(),
          `[${time(e.tsMicros)}] #${body.commandId} ${body.action}`,
          ...body.text.split('\n').map((l) => `  ${l}`),
          ...detailLines(body.protocol, body.detailsJson),
        ];
      }
      case 'Decision': {
        const reasons = body.reasons.length ? `: ${body.reasons.join('; ')}` : '';
        return [`  → ${body.result}${reasons} (policy ${body.policyRevision || '?'}, #${body.commandId})`];
      }
      case 'ApprovalRequested':
        this.queries.approvalRequested(body.approvalId);
        this.held = body.approvalId;
        return [`  ⏸ approval ${body.approvalId} requested from ${body.approverGroups.join(', ') || 'approvers'} (quorum ${body.quorum})`];
      case 'ApprovalResolved':
        this.queries.approvalResolved(body.approvalId);
        if (this.held === body.approvalId) this.held = undefined;
        return [`  approval ${body.approvalId}: ${body.outcome}${body.approvers.length ? ` by ${body.approvers.join(', ')}` : ''}${body.reason ? ` (${body.reason})` : ''}`];
      case 'Frame':
        return body.direction === 'CLIENT_TO_SERVER' ? this.clientFrame(e, body) : this.serverFrame(body);
      case 'SessionEnded':
        return [
          ...this.orphans(this.queries.settle()),
          ...this.flushResult(),
          ...this.http.flush(),
          `ended     ${formatMicros(e.tsMicros)}  (${body.reason}${body.error ? `: ${body.error}` : ''}; ${body.signature.length ? `sealed by ${body.sealedBy}` : 'not sealed'}${body.complete ? '' : '; INCOMPLETE'})`,
          countsLine(this.events, this.commands, this.frames, this.messages),
        ];
    }
  }

  /** Queries the gateway recorded no Command for. */
  private orphans(queries: PendingQuery[]): string[] {
    return queries.flatMap((q) => [`[${time(q.tsMicros)}] (no command recorded)`, ...q.sql.split('\n').map((l) => `  ${l}`)]);
  }

  private flushResult(): string[] {
    const r = this.result;
    this.result = undefined;
    this.fields = undefined;
    const lines: string[] = [];
    if (r?.columns) {
      if (!r.shown) lines.push(...this.table(r));
      if (r.more) lines.push(`  … ${r.more} more rows`);
    }
    return [...lines, ...this.flushMasks()];
  }

  private table(r: Pending): string[] {
    return ['', ...formatTable(r.columns ?? [], r.rows, this.o.maxWidth).map((l) => `  ${l}`)];
  }

  private flushMasks(): string[] {
    if (this.masks.size === 0) return [];
    const text = [...this.masks].map(([what, n]) => `${n}× ${what}`).join(', ');
    this.masks = new Map();
    return [`  (masked: ${text})`];
  }

  private tally(body: Frame): void {
    for (const m of body.masks) {
      const what = `${m.detector} in ${m.location}`;
      this.masks.set(what, (this.masks.get(what) ?? 0) + m.count);
    }
  }

  private clientFrame(e: EventMsg, body: Frame): string[] {
    this.frames.in++;
    const out = this.orphans(this.queries.settle());
    const messages = recordedMessages(body);
    this.messages.in += messages.length;
    for (const m of messages) {
      if (isHttpMessage(m.type)) {
        out.push(...this.http.message('CLIENT_TO_SERVER', m));
        continue;
      }
      this.order.clientMessage(m.type);
      const sql = m.type === 'Query' ? query(m.bytes) : undefined;
      if (sql === undefined) continue;
      out.push(...this.flushResult());
      this.queries.add({ tsMicros: e.tsMicros, sql });
    }
    return out;
  }

  private serverFrame(body: Frame): string[] {
    this.frames.out++;
    const out = this.orphans(this.queries.serverFrame());
    const messages = recordedMessages(body);
    this.messages.out += messages.length;
    if (body.redacted) return out;
    const at = maskedAt(messages);
    if (at < 0) this.tally(body);
    messages.forEach((m, i) => {
      if (i === at) this.tally(body);
      out.push(...this.resultHeading(m.type), ...this.serverMessage(m));
      for (const id of this.order.serverMessage(m.type)) out.push(...this.flushResult(), `  ↳ #${id} not executed: a statement before it in the same pipeline (before its Sync) failed`);
    });
    return out;
  }

  /** A result of a pipelined execution other than the command printed last says whose it is. */
  private resultHeading(type: string): string[] {
    const head = this.order.head;
    if (head === undefined || head === this.resultOf || !RESULT_MESSAGES.has(type)) return [];
    this.resultOf = head;
    return [...this.flushResult(), `  ↳ result of #${head}`];
  }

  private serverMessage(m: RecordedMessage): string[] {
    const { type, bytes } = m;
    if (isHttpMessage(type)) return [...(type === 'http.response.head' ? this.heldOutcome() : []), ...this.http.message('SERVER_TO_CLIENT', m)];
    switch (type) {
      case 'RowDescription': {
        // A result printed early gets its count line before the next one starts.
        const out = this.result?.shown ? this.flushResult() : [];
        this.fields = rowDescription(bytes);
        this.result = { rows: [], more: 0, shown: false, ...(this.fields ? { columns: this.fields.map((f) => f.name) } : {}) };
        return out;
      }
      case 'DataRow':
        return this.dataRow(bytes);
      case 'CommandComplete': {
        const tag = commandComplete(bytes);
        return [...this.flushResult(), ...(tag !== undefined ? [`  (${tag})`] : [])];
      }
      case 'ErrorResponse': {
        const err = errorResponse(bytes);
        return [...this.flushResult(), ...(err ? [`  ${err.severity} ${err.code}: ${err.message}${err.detail ? ` — ${err.detail}` : ''}`] : [])];
      }
      default:
        return [];
    }
  }

  /** A request held for approval and answered before any approver did: the hold timed out (or ended otherwise). */
  private heldOutcome(): string[] {
    const id = this.held;
    this.held = undefined;
    return id ? [`  approval ${id}: not answered while the request was held (timed out); the agent got the answer below`] : [];
  }

  private dataRow(bytes: Buffer): string[] {
    const r = this.result;
    if (!r) return [];
    if (r.rows.length >= this.o.maxRows) {
      // Past what is shown, a row is only counted: a huge result costs no parsing beyond its first rows.
      if (isDataRow(bytes)) r.more++;
      return [];
    }
    const row = dataRow(bytes, this.fields);
    if (!row) return [];
    r.rows.push(row);
    if (r.rows.length < this.o.maxRows || !r.columns) return [];
    r.shown = true;
    return this.table(r);
  }
}
