import type { Command, Frame, SessionEnded, SessionStarted } from '@chaperone/events';
import type { EventMsg } from '../proto.js';
import type { WebTranscriptCommand } from '../web-types.js';
import { eventBody, recordedMessages, type RecordedMessage } from './frames.js';
import { commandComplete, dataRow, errorResponse, query, rowDescription, type PgField } from './pgwire.js';
import { ExecutionOrder, QueryMatcher } from './queries.js';

/** One statement with its decision, approval and result: the console's wire type (web-types.ts), declared once. */
export type TranscriptCommand = WebTranscriptCommand;

/** A session rebuilt from its recorded events, ready to print or to emit as JSON. */
export interface Transcript {
  sessionId: string;
  nodeId: string;
  started?: { tsMicros: number } & Omit<SessionStarted, 'type'>;
  ended?: { tsMicros: number; seq: number } & Omit<SessionEnded, 'type' | 'finalHash' | 'signature'> & { finalHash: string; sealed: boolean };
  commands: TranscriptCommand[];
  events: number;
  /** Recorded Frame events (one forwarded write each) per direction. */
  frames: { in: number; out: number };
  /** Protocol messages in those frames per direction. */
  messages: { in: number; out: number };
}

/** HTTP body chunks kept per exchange: the first ones tell what came back; the record holds all of it. */
const HTTP_BODY_ROWS = 4;
const HTTP_BODY_CHARS = 2000;

interface PendingQuery {
  sql: string;
  placeholder: TranscriptCommand;
}

export interface TranscriptBuilderOptions {
  /**
   * Receives each result row instead of the command's `result.rows` (which then stays empty), so
   * a consumer can write rows out as they come and hold none.
   */
  onRow?: (command: TranscriptCommand, row: (string | null)[]) => void;
}

/**
 * Builds a transcript event by event, in seq order. Each event is decoded from its Avro (the bytes
 * the chain covers), never from the convenience columns, and every protocol message of a Frame
 * is read (a v2 Frame holds one forwarded write). Results are attached to the latest command, as
 * the gateway recorded them after it. `commands` holds the commands not yet taken by `retire`.
 */
export class TranscriptBuilder {
  readonly t: Transcript = { sessionId: '', nodeId: '', commands: [], events: 0, frames: { in: 0, out: 0 }, messages: { in: 0, out: 0 } };
  private readonly byId = new Map<number, TranscriptCommand>();
  private readonly queries = new QueryMatcher<PendingQuery>();
  private current: TranscriptCommand | undefined;
  /** Pipelined executions waiting for their results, in the order the server answers them. */
  private readonly order = new ExecutionOrder<TranscriptCommand>();
  private fields: PgField[] | undefined;
  /** The command the last result message went to. */
  private resultTarget: TranscriptCommand | undefined;
  /** Rows given to the current command so far. */
  private rows = 0;

  constructor(private readonly opts: TranscriptBuilderOptions = {}) {}

  /** The command results go to now. */
  get currentCommand(): TranscriptCommand | undefined {
    return this.order.head ?? this.current;
  }

  push(e: EventMsg): void {
    this.t.events++;
    this.t.sessionId ||= e.sessionId;
    this.t.nodeId ||= e.nodeId;
    const body = eventBody(e);
    if (!body) return;
    switch (body.type) {
      case 'SessionStarted': {
        const { type: _, ...rest } = body;
        this.t.started = { tsMicros: e.tsMicros, ...rest };
        break;
      }
      case 'SessionEnded': {
        this.settle(this.queries.settle());
        const { type: _, finalHash, signature, ...rest } = body;
        this.t.ended = { tsMicros: e.tsMicros, seq: e.seq, ...rest, finalHash: Buffer.from(finalHash).toString('hex'), sealed: signature.length > 0 };
        break;
      }
      case 'Command':
        this.command(e, body);
        break;
      case 'Decision': {
        const cmd = this.byId.get(body.commandId);
        if (cmd) cmd.decision = { result: body.result, reasons: [...body.reasons], policyRevision: body.policyRevision };
        break;
      }
      case 'ApprovalRequested': {
        this.queries.approvalRequested(body.approvalId);
        const cmd = this.byId.get(body.commandId);
        if (cmd) cmd.approval = { approvalId: body.approvalId };
        break;
      }
      case 'ApprovalResolved': {
        this.queries.approvalResolved(body.approvalId);
        const cmd = this.byId.get(body.commandId);
        if (cmd) cmd.approval = { approvalId: body.approvalId, outcome: body.outcome, approvers: [...body.approvers], reason: body.reason };
        break;
      }
      case 'Frame':
        if (body.direction === 'CLIENT_TO_SERVER') this.clientFrame(e, body);
        else this.serverFrame(body);
        break;
    }
  }

  /** Takes the first `n` commands out (a streaming consumer wrote them): later events no longer update them. */
  retire(n: number): TranscriptCommand[] {
    const gone = this.t.commands.splice(0, n);
    for (const c of gone) if (this.byId.get(c.commandId) === c) this.byId.delete(c.commandId);
    return gone;
  }

  private setCurrent(cmd: TranscriptCommand): void {
    this.current = cmd;
    this.fields = undefined;
    this.rows = 0;
  }

  /** Queries that got no Command stay as they are; results go to the last of them, as they did when each Query had its own Frame. */
  private settle(orphans: PendingQuery[]): void {
    const last = orphans.at(-1);
    if (last) this.setCurrent(last.placeholder);
  }

  private command(e: EventMsg, body: Command): void {
    const cmd: TranscriptCommand = {
      seq: e.seq, tsMicros: e.tsMicros, commandId: body.commandId, action: body.action, text: body.text, targets: [...body.targets], result: { rows: [] },
    };
    const match = this.queries.command(body.text);
    const list = this.t.commands;
    // The Query message before it is the same command: the Command takes its place. Another
    // statement of the same query goes before the write's later queries. (Pending queries come
    // after the current command, so `retire` never took them.)
    const own = match.own ? list.indexOf(match.own.placeholder) : -1;
    const next = match.continues && this.queries.first ? list.indexOf(this.queries.first.placeholder) : -1;
    if (own >= 0) list.splice(own, 1, cmd);
    else if (next >= 0) list.splice(next, 0, cmd);
    else list.push(cmd);
    this.byId.set(body.commandId, cmd);
    if (body.protocol === 'postgres') this.order.command(cmd);
    this.setCurrent(cmd);
  }

  private clientFrame(e: EventMsg, body: Frame): void {
    this.t.frames.in++;
    this.settle(this.queries.settle());
    const messages = recordedMessages(body);
    this.t.messages.in += messages.length;
    for (const m of messages) {
      this.order.clientMessage(m.type);
      const sql = m.type === 'Query' ? query(m.bytes) : undefined;
      if (sql === undefined) continue;
      const placeholder: TranscriptCommand = { seq: e.seq, tsMicros: e.tsMicros, commandId: 0, action: '', text: sql, targets: [], result: { rows: [] } };
      this.t.commands.push(placeholder);
      // A later Query of the same write becomes current only once the ones before it are settled.
      if (this.queries.size === 0) this.setCurrent(placeholder);
      this.queries.add({ sql, placeholder });
    }
  }

  private serverFrame(body: Frame): void {
    this.t.frames.out++;
    this.settle(this.queries.serverFrame());
    const messages = recordedMessages(body);
    this.t.messages.out += messages.length;
    if (body.redacted) return;
    for (const m of messages) {
      const target = this.order.head ?? this.current;
      if (target && target !== this.resultTarget) {
        // A pipelined execution's results start: its own RowDescription comes with them.
        this.resultTarget = target;
        this.fields = undefined;
      }
      if (target) this.serverMessage(target, m);
      for (const c of this.order.serverMessage(m.type)) c.result.notExecuted = true;
    }
  }

  private serverMessage(cmd: TranscriptCommand, { type, bytes }: RecordedMessage): void {
    switch (type) {
      case 'RowDescription':
        this.fields = rowDescription(bytes);
        if (this.fields) cmd.result.columns = this.fields.map((f) => f.name);
        return;
      case 'DataRow': {
        const row = dataRow(bytes, this.fields);
        if (row) this.row(cmd, row);
        return;
      }
      case 'CommandComplete': {
        const tag = commandComplete(bytes);
        if (tag !== undefined) cmd.result.tag = tag;
        return;
      }
      case 'ErrorResponse': {
        const err = errorResponse(bytes);
        if (err) cmd.result.error = err;
        return;
      }
      case 'http.response.head': {
        // HTTP exchanges: the status line is the result ("HTTP/1.1 403 Forbidden").
        const line = bytes.subarray(0, Math.max(0, bytes.indexOf('\r\n'))).toString('latin1') || bytes.subarray(0, 200).toString('latin1').split('\n')[0]!;
        cmd.result.tag = line.trim();
        return;
      }
      case 'http.response.body':
      case 'http.response.body.end':
        cmd.result.columns ??= ['body'];
        if (this.rows < HTTP_BODY_ROWS) this.row(cmd, [bytes.subarray(0, HTTP_BODY_CHARS).toString('utf8')]);
        return;
    }
  }

  private row(cmd: TranscriptCommand, row: (string | null)[]): void {
    this.rows++;
    if (this.opts.onRow) this.opts.onRow(cmd, row);
    else cmd.result.rows.push(row);
  }
}

/** The whole transcript of these events (in seq order), every result row held: for small sessions and tests. */
export function buildTranscript(events: Iterable<EventMsg>): Transcript {
  const b = new TranscriptBuilder();
  for (const e of events) b.push(e);
  return b.t;
}
