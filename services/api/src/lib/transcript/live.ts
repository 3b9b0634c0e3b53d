import { decodeEventBody, type EventBody } from '@chaperone/events';
import type { EventMsg } from '../proto.js';
import { countsLine, formatMicros, formatTable, type FormatOptions } from './format.js';
import { commandComplete, dataRow, errorResponse, query, rowDescription, type PgField } from './pgwire.js';

interface Pending {
  columns?: string[];
  rows: (string | null)[][];
  more: number;
}

/** Masking notes of one result, summed by detector and location. */
type MaskTally = Map<string, number>;

/** The full event body of a replayed event, decoded from its Avro; undefined when it does not decode. */
export function eventBody(e: EventMsg): EventBody | undefined {
  try {
    return decodeEventBody(Buffer.from(e.avro)).body;
  } catch {
    return undefined;
  }
}

const time = (micros: number) => formatMicros(micros).slice(11, 26);

/**
 * The transcript rendered event by event, for replay as it happened and for following a live
 * session: a statement is printed when its Command is recorded (not when its result is), the
 * decision and approvals under it as they arrive, and the result table once it is complete.
 * `push` returns the text an event adds ('' for most frames), so the caller can pace output by
 * the events' own timestamps.
 */
export class LiveTranscript {
  private readonly o: Required<FormatOptions>;
  private fields: PgField[] | undefined;
  private result: Pending | undefined;
  /** A Query frame not yet followed by its Command (the gateway records the Command right after). */
  private pendingQuery: { tsMicros: number; sql: string } | undefined;
  private masks: MaskTally = new Map();
  private commands = 0;
  private frames = { in: 0, out: 0 };
  private events = 0;

  constructor(opts: FormatOptions = {}) {
    this.o = { maxRows: opts.maxRows ?? 50, maxWidth: opts.maxWidth ?? 60 };
  }

  /** Text for one event (lines ending in a newline), possibly empty. */
  push(e: EventMsg): string {
    this.events++;
    let body: EventBody;
    try {
      body = decodeEventBody(Buffer.from(e.avro)).body;
    } catch {
      return `[${time(e.tsMicros)}] (event ${e.seq} does not decode; run \`chaperone verify ${e.sessionId}\`)\n`;
    }
    const out: string[] = [];
    if (this.pendingQuery && !(body.type === 'Command')) out.push(...this.flushQuery());
    switch (body.type) {
      case 'SessionStarted': {
        const id = body.identity;
        out.push(
          `Session ${e.sessionId}  ${body.protocol} via connection ${body.connection}`,
          `  identity  ${id.subject} (issuer ${id.issuer}${id.groups.length ? `, groups ${id.groups.join(', ')}` : ''}${id.tokenId ? `, token ${id.tokenId}` : ''})`,
          `  client    ${body.clientAddress}${body.tls ? ' (TLS)' : ''}    node ${e.nodeId}`,
          `  started   ${formatMicros(e.tsMicros)}`,
          '',
        );
        break;
      }
      case 'Command':
        this.pendingQuery = undefined;
        out.push(...this.flushResult());
        this.commands++;
        out.push(`[${time(e.tsMicros)}] #${body.commandId} ${body.action}`, ...body.text.split('\n').map((l) => `  ${l}`));
        break;
      case 'Decision': {
        const reasons = body.reasons.length ? `: ${body.reasons.join('; ')}` : '';
        out.push(`  → ${body.result}${reasons} (policy ${body.policyRevision || '?'}, #${body.commandId})`);
        break;
      }
      case 'ApprovalRequested':
        out.push(`  ⏸ approval ${body.approvalId} requested from ${body.approverGroups.join(', ') || 'approvers'} (quorum ${body.quorum})`);
        break;
      case 'ApprovalResolved':
        out.push(`  approval ${body.approvalId}: ${body.outcome}${body.approvers.length ? ` by ${body.approvers.join(', ')}` : ''}${body.reason ? ` (${body.reason})` : ''}`);
        break;
      case 'Frame':
        out.push(...this.frame(e, body));
        break;
      case 'SessionEnded':
        out.push(...this.flushResult());
        out.push(
          `ended     ${formatMicros(e.tsMicros)}  (${body.reason}${body.error ? `: ${body.error}` : ''}; ${body.signature.length ? `sealed by ${body.sealedBy}` : 'not sealed'}${body.complete ? '' : '; INCOMPLETE'})`,
          countsLine(this.events, this.commands, this.frames),
        );
        break;
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /** What is still held back when the stream ends (a session that is still open). */
  end(): string {
    const out = [...this.flushQuery(), ...this.flushResult()];
    return out.length ? `${out.join('\n')}\n` : '';
  }

  private flushQuery(): string[] {
    const q = this.pendingQuery;
    if (!q) return [];
    this.pendingQuery = undefined;
    return [`[${time(q.tsMicros)}] (no command recorded)`, ...q.sql.split('\n').map((l) => `  ${l}`)];
  }

  private flushResult(): string[] {
    const r = this.result;
    this.result = undefined;
    this.fields = undefined;
    const lines: string[] = [];
    if (r?.columns) {
      lines.push('', ...formatTable(r.columns, r.rows, this.o.maxWidth).map((l) => `  ${l}`));
      if (r.more) lines.push(`  … ${r.more} more rows`);
    }
    return [...lines, ...this.flushMasks()];
  }

  private flushMasks(): string[] {
    if (this.masks.size === 0) return [];
    const text = [...this.masks].map(([what, n]) => `${n}× ${what}`).join(', ');
    this.masks = new Map();
    return [`  (masked: ${text})`];
  }

  private frame(e: EventMsg, body: Extract<EventBody, { type: 'Frame' }>): string[] {
    const bytes = Buffer.from(body.bytes);
    if (body.direction === 'CLIENT_TO_SERVER') {
      this.frames.in++;
      const sql = body.messageType === 'Query' ? query(bytes) : undefined;
      if (sql !== undefined) {
        const out = this.flushResult();
        this.pendingQuery = { tsMicros: e.tsMicros, sql };
        return out;
      }
      return [];
    }
    this.frames.out++;
    if (body.redacted) return [];
    for (const m of body.masks) {
      const what = `${m.detector} in ${m.location}`;
      this.masks.set(what, (this.masks.get(what) ?? 0) + m.count);
    }
    switch (body.messageType) {
      case 'RowDescription':
        this.fields = rowDescription(bytes);
        this.result = { rows: [], more: 0, ...(this.fields ? { columns: this.fields.map((f) => f.name) } : {}) };
        return [];
      case 'DataRow': {
        const row = dataRow(bytes, this.fields);
        if (row && this.result) {
          if (this.result.rows.length < this.o.maxRows) this.result.rows.push(row);
          else this.result.more++;
        }
        return [];
      }
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
}
