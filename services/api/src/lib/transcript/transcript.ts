import { decodeEventBody, type EventBody, type SessionEnded, type SessionStarted } from '@chaperone/events';
import type { EventMsg } from '../proto.js';
import { commandComplete, dataRow, errorResponse, query, rowDescription, type PgError, type PgField } from './pgwire.js';

export interface TranscriptCommand {
  seq: number;
  tsMicros: number;
  /** 0 when the client sent a query the gateway recorded no Command for. */
  commandId: number;
  action: string;
  text: string;
  targets: string[];
  decision?: { result: string; reasons: string[]; policyRevision: string };
  approval?: { approvalId: string; outcome?: string; approvers?: string[]; reason?: string };
  result: { columns?: string[]; rows: (string | null)[][]; tag?: string; error?: PgError };
}

/** A session rebuilt from its recorded events, ready to print or to emit as JSON. */
export interface Transcript {
  sessionId: string;
  nodeId: string;
  started?: { tsMicros: number } & Omit<SessionStarted, 'type'>;
  ended?: { tsMicros: number; seq: number } & Omit<SessionEnded, 'type' | 'finalHash' | 'signature'> & { finalHash: string; sealed: boolean };
  commands: TranscriptCommand[];
  events: number;
  frames: { in: number; out: number };
}

/**
 * Builds the transcript from events in seq order. The full event is decoded from its Avro (the
 * bytes the chain covers), never from the convenience columns. PostgreSQL result frames are
 * attached to the command they answer.
 */
export function buildTranscript(events: Iterable<EventMsg>): Transcript {
  const t: Transcript = { sessionId: '', nodeId: '', commands: [], events: 0, frames: { in: 0, out: 0 } };
  const byId = new Map<number, TranscriptCommand>();
  let current: TranscriptCommand | undefined;
  let fields: PgField[] | undefined;
  let pendingQuery: TranscriptCommand | undefined;
  for (const e of events) {
    t.events++;
    t.sessionId ||= e.sessionId;
    t.nodeId ||= e.nodeId;
    let body: EventBody;
    try {
      body = decodeEventBody(Buffer.from(e.avro)).body;
    } catch {
      continue;
    }
    switch (body.type) {
      case 'SessionStarted': {
        const { type: _, ...rest } = body;
        t.started = { tsMicros: e.tsMicros, ...rest };
        break;
      }
      case 'SessionEnded': {
        const { type: _, finalHash, signature, ...rest } = body;
        t.ended = { tsMicros: e.tsMicros, seq: e.seq, ...rest, finalHash: Buffer.from(finalHash).toString('hex'), sealed: signature.length > 0 };
        break;
      }
      case 'Command': {
        const cmd: TranscriptCommand = {
          seq: e.seq, tsMicros: e.tsMicros, commandId: body.commandId, action: body.action, text: body.text, targets: [...body.targets], result: { rows: [] },
        };
        // The Query frame before it is the same command: the Command supersedes it.
        if (pendingQuery) t.commands.splice(t.commands.indexOf(pendingQuery), 1);
        pendingQuery = undefined;
        t.commands.push(cmd);
        byId.set(body.commandId, cmd);
        current = cmd;
        fields = undefined;
        break;
      }
      case 'Decision': {
        const cmd = byId.get(body.commandId);
        if (cmd) cmd.decision = { result: body.result, reasons: [...body.reasons], policyRevision: body.policyRevision };
        break;
      }
      case 'ApprovalRequested': {
        const cmd = byId.get(body.commandId);
        if (cmd) cmd.approval = { approvalId: body.approvalId };
        break;
      }
      case 'ApprovalResolved': {
        const cmd = byId.get(body.commandId);
        if (cmd) cmd.approval = { approvalId: body.approvalId, outcome: body.outcome, approvers: [...body.approvers], reason: body.reason };
        break;
      }
      case 'Frame': {
        const bytes = Buffer.from(body.bytes);
        if (body.direction === 'CLIENT_TO_SERVER') {
          t.frames.in++;
          const sql = body.messageType === 'Query' ? query(bytes) : undefined;
          if (sql !== undefined) {
            pendingQuery = { seq: e.seq, tsMicros: e.tsMicros, commandId: 0, action: '', text: sql, targets: [], result: { rows: [] } };
            t.commands.push(pendingQuery);
            current = pendingQuery;
            fields = undefined;
          }
          break;
        }
        t.frames.out++;
        if (!current || body.redacted) break;
        if (body.messageType === 'RowDescription') {
          fields = rowDescription(bytes);
          if (fields) current.result.columns = fields.map((f) => f.name);
        } else if (body.messageType === 'DataRow') {
          const row = dataRow(bytes, fields);
          if (row) current.result.rows.push(row);
        } else if (body.messageType === 'CommandComplete') {
          const tag = commandComplete(bytes);
          if (tag !== undefined) current.result.tag = tag;
        } else if (body.messageType === 'ErrorResponse') {
          const err = errorResponse(bytes);
          if (err) current.result.error = err;
        } else if (body.messageType === 'http.response.head') {
          // HTTP exchanges: the status line is the result ("HTTP/1.1 403 Forbidden").
          const line = bytes.subarray(0, Math.max(0, bytes.indexOf('\r\n'))).toString('latin1') || bytes.subarray(0, 200).toString('latin1').split('\n')[0]!;
          current.result.tag = line.trim();
        } else if (body.messageType === 'http.response.body.end' || body.messageType === 'http.response.body') {
          const text = bytes.subarray(0, 2000).toString('utf8');
          if (current.result.columns === undefined) current.result.columns = ['body'];
          // The first chunks tell what came back; the record holds all of it.
          if (current.result.rows.length < 4) current.result.rows.push([text]);
        }
        break;
      }
    }
  }
  return t;
}
