import { hash as oneShotHash } from 'node:crypto';
import type { Command, EventBody, Frame, SessionEvent } from '@chaperone/events';

/** Column types the store writes; the subset every ClickHouse since 18.16 and chdb share. */
export type ColumnType = 'String' | 'UInt8' | 'UInt64' | 'DateTime' | 'Date' | 'Array(String)' | 'Array(UInt64)' | 'Nullable(DateTime)';
export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

/** A row of `events` (schemas/clickhouse/001_init.sql). Binary columns are Buffers. */
export interface EventRow {
  session_id: string;
  seq: number;
  ts: number;
  ts_micros: number;
  event_date: number;
  node_id: string;
  type: string;
  direction: string;
  message_type: string;
  command_id: number;
  payload: Buffer;
  redacted: number;
  avro: Buffer;
  hash: string;
  prev_hash: string;
  /** Frame: detector of each masking note (002). */
  mask_detectors: string[];
  /** Frame: where each note's values were masked, parallel to mask_detectors. */
  mask_locations: string[];
  /** Frame: values masked in all (sum of the notes' counts). */
  masked: number;
  /** Frame: every protocol message in payload, in order (003); `[message_type]` for a v1 event. */
  message_types: string[];
  /** Frame: where each message of message_types starts in payload; `[0]` for a v1 event. */
  message_offsets: number[];
}

export interface CommandRow {
  session_id: string;
  command_id: number;
  seq: number;
  ts: number;
  ts_micros: number;
  event_date: number;
  subject: string;
  connection: string;
  protocol: string;
  action: string;
  targets: string[];
  text: string;
  text_sha256: string;
  details: string;
  decision: string;
  reasons: string[];
  policy_revision: string;
  eval_micros: number;
  decision_seq: number;
  approval_id: string;
  approval_outcome: string;
  approvers: string[];
  /** Migration 005: when the command was decided and its approval asked and answered (µs), and the approver's reason. */
  decided_micros: number;
  approval_requested_micros: number;
  approval_resolved_micros: number;
  approval_reason: string;
  /** Migration 006: the targets schema-qualified (PostgreSQL: schema.table), as the gateway recorded them in details. */
  qualified_targets: string[];
  version: number;
}

/** A row of `frame_commands` (006): what one Frame carries of one command. */
export interface FrameCommandRow {
  session_id: string;
  command_id: number;
  seq: number;
  ts: number;
  ts_micros: number;
  event_date: number;
  direction: string;
  messages: number;
  rows_returned: number;
  errors: number;
  bytes: number;
}

export interface SessionRow {
  session_id: string;
  subject: string;
  issuer: string;
  groups: string[];
  token_id: string;
  connection: string;
  protocol: string;
  client_address: string;
  tls: number;
  attributes: string;
  node_id: string;
  started_at: number;
  started_micros: number;
  started_date: number;
  /** Seconds; null while the session is open. */
  ended_at: number | null;
  ended_micros: number;
  end_reason: string;
  end_error: string;
  frames_in: number;
  frames_out: number;
  bytes_in: number;
  bytes_out: number;
  commands: number;
  denied: number;
  last_seq: number;
  final_hash: string;
  signature: string;
  sealed_by: string;
  complete: number;
  sealed: number;
  version: number;
}

/** Fields one event contributes to a `commands` or `sessions` row; merged onto the current row. */
export interface RowUpdate<R> {
  key: string;
  /** seq of the event: the row's version after the merge is the larger of the two. */
  version: number;
  fields: Partial<R>;
}

/** What one event projects to. */
export interface ProjectedRows {
  event: EventRow;
  command?: RowUpdate<CommandRow>;
  session?: RowUpdate<SessionRow>;
  /** A Frame attributed to commands (events v3): one row per command it carries messages of. */
  frameCommands?: FrameCommandRow[];
}

const col = (name: string, type: ColumnType): ColumnSpec => ({ name, type });

export const EVENT_COLUMNS: readonly ColumnSpec[] = [
  col('session_id', 'String'), col('seq', 'UInt64'), col('ts', 'DateTime'), col('ts_micros', 'UInt64'), col('event_date', 'Date'),
  col('node_id', 'String'), col('type', 'String'), col('direction', 'String'), col('message_type', 'String'), col('command_id', 'UInt64'),
  col('payload', 'String'), col('redacted', 'UInt8'), col('avro', 'String'), col('hash', 'String'), col('prev_hash', 'String'),
  col('mask_detectors', 'Array(String)'), col('mask_locations', 'Array(String)'), col('masked', 'UInt64'),
  col('message_types', 'Array(String)'), col('message_offsets', 'Array(UInt64)'),
];

/** The columns of `commands` before migration 005. */
export const COMMAND_COLUMNS_BEFORE_005: readonly ColumnSpec[] = [
  col('session_id', 'String'), col('command_id', 'UInt64'), col('seq', 'UInt64'), col('ts', 'DateTime'), col('ts_micros', 'UInt64'),
  col('event_date', 'Date'), col('subject', 'String'), col('connection', 'String'), col('protocol', 'String'), col('action', 'String'),
  col('targets', 'Array(String)'), col('text', 'String'), col('text_sha256', 'String'), col('details', 'String'), col('decision', 'String'),
  col('reasons', 'Array(String)'), col('policy_revision', 'String'), col('eval_micros', 'UInt64'), col('decision_seq', 'UInt64'),
  col('approval_id', 'String'), col('approval_outcome', 'String'), col('approvers', 'Array(String)'), col('version', 'UInt64'),
];

/** The columns migration 005 added to `commands`; a store reaching a database not migrated yet writes and reads without them. */
export const COMMAND_DECISION_COLUMNS: readonly ColumnSpec[] = [
  col('decided_micros', 'UInt64'), col('approval_requested_micros', 'UInt64'), col('approval_resolved_micros', 'UInt64'), col('approval_reason', 'String'),
];

/** The column migration 006 added to `commands`. */
export const COMMAND_QUALIFIED_COLUMNS: readonly ColumnSpec[] = [col('qualified_targets', 'Array(String)')];

/** Every column of `commands`. */
export const COMMAND_COLUMNS: readonly ColumnSpec[] = [...COMMAND_COLUMNS_BEFORE_005, ...COMMAND_DECISION_COLUMNS, ...COMMAND_QUALIFIED_COLUMNS];

export const FRAME_COMMAND_COLUMNS: readonly ColumnSpec[] = [
  col('session_id', 'String'), col('command_id', 'UInt64'), col('seq', 'UInt64'), col('ts', 'DateTime'), col('ts_micros', 'UInt64'),
  col('event_date', 'Date'), col('direction', 'String'), col('messages', 'UInt64'), col('rows_returned', 'UInt64'), col('errors', 'UInt64'),
  col('bytes', 'UInt64'),
];

export const SESSION_COLUMNS: readonly ColumnSpec[] = [
  col('session_id', 'String'), col('subject', 'String'), col('issuer', 'String'), col('groups', 'Array(String)'), col('token_id', 'String'),
  col('connection', 'String'), col('protocol', 'String'), col('client_address', 'String'), col('tls', 'UInt8'), col('attributes', 'String'),
  col('node_id', 'String'), col('started_at', 'DateTime'), col('started_micros', 'UInt64'), col('started_date', 'Date'),
  col('ended_at', 'Nullable(DateTime)'), col('ended_micros', 'UInt64'), col('end_reason', 'String'), col('end_error', 'String'),
  col('frames_in', 'UInt64'), col('frames_out', 'UInt64'), col('bytes_in', 'UInt64'), col('bytes_out', 'UInt64'), col('commands', 'UInt64'),
  col('denied', 'UInt64'), col('last_seq', 'UInt64'), col('final_hash', 'String'), col('signature', 'String'), col('sealed_by', 'String'),
  col('complete', 'UInt8'), col('sealed', 'UInt8'), col('version', 'UInt64'),
];

const EMPTY = Buffer.alloc(0);

/** Hex of bytes without copying them (decoded Avro fields are Buffers already). */
const hex = (b: Uint8Array): string => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('hex');

/**
 * The event's chain link as hex, `SHA-256(prev_hash ‖ avro)` (services/README.md): the same value as
 * `chainHash` of @chaperone/events, computed in one call because the materializer does it for
 * every event (a one-shot hash costs about a third of a Hash object).
 */
export function chainHashHex(prevHash: Uint8Array, avro: Buffer): string {
  return oneShotHash('sha256', Buffer.concat([prevHash, avro]), 'hex');
}

export const commandKey = (sessionId: string, commandId: number): string => `${sessionId}\u0000${commandId}`;

/**
 * The message columns of a Frame: the types and start offsets `frameMessages` of @chaperone/events
 * gives (a v1 event is one message at 0), without an object per message — the materializer
 * projects every frame, and a result frame holds a message per row. The decoded arrays are
 * referenced, not copied, when they are parallel (as every writer makes them).
 */
export function frameColumns(b: Pick<Frame, 'messageType' | 'messageTypes' | 'offsets'>): { types: string[]; offsets: number[] } {
  if (b.messageTypes.length === 0) return { types: [b.messageType], offsets: [0] };
  if (b.offsets.length === b.messageTypes.length) return { types: b.messageTypes, offsets: b.offsets };
  return { types: b.messageTypes, offsets: b.messageTypes.map((_, i) => b.offsets[i] ?? 0) };
}

/** The command a Frame's `command_id` column names: the first its messages belong to, 0 when none (or not attributed). */
function firstCommand(b: Pick<Frame, 'commandIds'>): number {
  for (const id of b.commandIds ?? []) if (id !== 0) return id;
  return 0;
}

/**
 * The `frame_commands` rows of a Frame: per command it carries messages of (its runs, events v3),
 * how many messages, result rows (DataRow), errors (ErrorResponse) and bytes. Runs of no command
 * (0) and frames not attributed give none.
 */
export function frameCommandRows(event: SessionEvent, b: Frame): FrameCommandRow[] {
  const ids = b.commandIds ?? [];
  if (ids.length === 0) return [];
  const { types, offsets } = frameColumns(b);
  const starts = b.commandStarts ?? [];
  const out: FrameCommandRow[] = [];
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r]!;
    if (id === 0) continue;
    const from = Math.min(types.length, starts[r] ?? 0);
    const to = Math.min(types.length, r + 1 < ids.length ? (starts[r + 1] ?? types.length) : types.length);
    let row = out.find((x) => x.command_id === id);
    if (!row) {
      row = { session_id: event.sessionId, command_id: id, seq: event.seq, ...times(event.tsMicros), direction: b.direction, messages: 0, rows_returned: 0, errors: 0, bytes: 0 };
      out.push(row);
    }
    for (let i = from; i < to; i++) {
      row.messages++;
      if (types[i] === 'DataRow') row.rows_returned++;
      else if (types[i] === 'ErrorResponse') row.errors++;
      row.bytes += (i + 1 < offsets.length ? offsets[i + 1]! : b.bytes.length) - offsets[i]!;
    }
  }
  return out;
}

/** The targets as the gateway qualified them (details.qualifiedTargets), else as written for protocols without schemas. */
function qualifiedTargets(c: Pick<Command, 'protocol' | 'targets' | 'detailsJson'>): string[] {
  if (c.detailsJson.includes('"qualifiedTargets"')) {
    try {
      const q = (JSON.parse(c.detailsJson) as { qualifiedTargets?: unknown }).qualifiedTargets;
      if (Array.isArray(q)) return q.map(String);
    } catch {
      // not JSON: fall through
    }
  }
  return c.protocol === 'postgres' ? [] : [...c.targets];
}

/** The time columns of an event: seconds, day number (for Date) and the exact microseconds. */
function times(tsMicros: number): { ts: number; ts_micros: number; event_date: number } {
  const ts = Math.floor(tsMicros / 1e6);
  return { ts, ts_micros: tsMicros, event_date: Math.floor(ts / 86400) };
}

/**
 * The `events` row of an event; verify recomputes it from the stored Avro to compare columns.
 * `hash` is the event's chain hash (bytes or hex). Frame bytes are referenced, not copied.
 */
export function toEventRow(event: SessionEvent, avro: Buffer, hash: Buffer | string): EventRow {
  const b = event.body;
  const messages = b.type === 'Frame' ? frameColumns(b) : undefined;
  return {
    session_id: event.sessionId,
    seq: event.seq,
    ...times(event.tsMicros),
    node_id: event.nodeId,
    type: b.type,
    direction: b.type === 'Frame' ? b.direction : '',
    message_type: b.type === 'Frame' ? b.messageType : '',
    command_id: 'commandId' in b ? b.commandId : b.type === 'Frame' ? firstCommand(b) : 0,
    payload: b.type === 'Frame' ? b.bytes : EMPTY,
    redacted: b.type === 'Frame' && b.redacted ? 1 : 0,
    avro,
    hash: typeof hash === 'string' ? hash : hex(hash),
    prev_hash: hex(event.prevHash),
    mask_detectors: b.type === 'Frame' ? b.masks.map((m) => m.detector) : [],
    mask_locations: b.type === 'Frame' ? b.masks.map((m) => m.location) : [],
    masked: b.type === 'Frame' ? b.masks.reduce((n, m) => n + m.count, 0) : 0,
    message_types: messages?.types ?? [],
    message_offsets: messages?.offsets ?? [],
  };
}

function commandUpdate(event: SessionEvent, body: EventBody): RowUpdate<CommandRow> | undefined {
  const at = { version: event.seq };
  switch (body.type) {
    case 'Command':
      return {
        key: commandKey(event.sessionId, body.commandId), ...at,
        fields: {
          seq: event.seq, ...times(event.tsMicros), protocol: body.protocol, action: body.action, targets: [...body.targets],
          text: body.text, text_sha256: body.textSha256, details: body.detailsJson, qualified_targets: qualifiedTargets(body),
        },
      };
    case 'Decision':
      return {
        key: commandKey(event.sessionId, body.commandId), ...at,
        fields: { decision: body.result, reasons: [...body.reasons], policy_revision: body.policyRevision, eval_micros: body.evalMicros, decision_seq: event.seq, decided_micros: event.tsMicros },
      };
    case 'ApprovalRequested':
      return { key: commandKey(event.sessionId, body.commandId), ...at, fields: { approval_id: body.approvalId, approval_requested_micros: event.tsMicros } };
    case 'ApprovalResolved':
      return {
        key: commandKey(event.sessionId, body.commandId), ...at,
        fields: {
          approval_id: body.approvalId, approval_outcome: body.outcome, approvers: [...body.approvers],
          approval_resolved_micros: event.tsMicros, approval_reason: body.reason,
        },
      };
    default:
      return undefined;
  }
}

function sessionUpdate(event: SessionEvent, body: EventBody): RowUpdate<SessionRow> | undefined {
  if (body.type === 'SessionStarted') {
    const t = times(event.tsMicros);
    return {
      key: event.sessionId, version: event.seq,
      fields: {
        subject: body.identity.subject, issuer: body.identity.issuer, groups: [...body.identity.groups], token_id: body.identity.tokenId,
        connection: body.connection, protocol: body.protocol, client_address: body.clientAddress, tls: body.tls ? 1 : 0,
        attributes: body.attributesJson, node_id: event.nodeId, started_at: t.ts, started_micros: t.ts_micros, started_date: t.event_date,
      },
    };
  }
  if (body.type === 'SessionEnded') {
    const t = times(event.tsMicros);
    const c = body.counters;
    return {
      key: event.sessionId, version: event.seq,
      fields: {
        ended_at: t.ts, ended_micros: t.ts_micros, end_reason: body.reason, end_error: body.error,
        frames_in: c.framesIn, frames_out: c.framesOut, bytes_in: c.bytesIn, bytes_out: c.bytesOut, commands: c.commands, denied: c.denied,
        last_seq: event.seq, final_hash: Buffer.from(body.finalHash).toString('hex'), signature: Buffer.from(body.signature).toString('hex'),
        sealed_by: body.sealedBy, complete: body.complete ? 1 : 0, sealed: body.signature.length > 0 ? 1 : 0,
      },
    };
  }
  return undefined;
}

/**
 * What one decoded event writes: its `events` row, and the fields it contributes to its command's
 * and its session's row. Pure: the store merges the updates onto the current rows.
 */
export function toRows(event: SessionEvent, avro: Buffer, hash: Buffer | string = chainHashHex(event.prevHash, avro)): ProjectedRows {
  const rows: ProjectedRows = { event: toEventRow(event, avro, hash) };
  const command = commandUpdate(event, event.body);
  if (command) rows.command = command;
  const session = sessionUpdate(event, event.body);
  if (session) rows.session = session;
  if (event.body.type === 'Frame' && event.body.commandIds && event.body.commandIds.length > 0) rows.frameCommands = frameCommandRows(event, event.body);
  return rows;
}

export function emptyCommandRow(sessionId: string, commandId: number): CommandRow {
  return {
    session_id: sessionId, command_id: commandId, seq: 0, ts: 0, ts_micros: 0, event_date: 0, subject: '', connection: '', protocol: '',
    action: '', targets: [], text: '', text_sha256: '', details: '{}', decision: '', reasons: [], policy_revision: '', eval_micros: 0,
    decision_seq: 0, approval_id: '', approval_outcome: '', approvers: [], version: 0,
    decided_micros: 0, approval_requested_micros: 0, approval_resolved_micros: 0, approval_reason: '', qualified_targets: [],
  };
}

export function emptySessionRow(sessionId: string): SessionRow {
  return {
    session_id: sessionId, subject: '', issuer: '', groups: [], token_id: '', connection: '', protocol: '', client_address: '', tls: 0,
    attributes: '{}', node_id: '', started_at: 0, started_micros: 0, started_date: 0, ended_at: null, ended_micros: 0, end_reason: '',
    end_error: '', frames_in: 0, frames_out: 0, bytes_in: 0, bytes_out: 0, commands: 0, denied: 0, last_seq: 0, final_hash: '',
    signature: '', sealed_by: '', complete: 0, sealed: 0, version: 0,
  };
}

/** Folds an update onto a row: its fields win, the version only grows. */
export function merge<R extends { version: number }>(base: R, update: RowUpdate<R>): R {
  return { ...base, ...update.fields, version: Math.max(base.version, update.version) };
}
