import { dashboardStats, type DashboardRange, type DashboardStats } from './dashboard.js';
import { applyRetention, type RetentionDays, type RetentionReport } from './retention.js';
import { createHttpExecutor, type ClickHouseConfig } from './clickhouse.js';
import { parseRow, selectList } from './columns.js';
import { decodeRowBinary } from './rowbinary-read.js';
import { SessionNotFoundError, StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { migrate, type MigrationReport } from './migrate.js';
import { budgetEnd, checkMaxBytes, fitting, type RangeOptions, type SeqBytes } from './pages.js';
import { Projector } from './projector.js';
import { addRecordedCounts } from './counters.js';
import { COMMAND_COLUMNS, EVENT_COLUMNS, FRAME_COMMAND_COLUMNS, SESSION_COLUMNS, toRows, type ColumnSpec, type EventRow, type SessionRow } from './rows.js';
import { str, uint } from './sql.js';
import { CH_UNKNOWN_IDENTIFIER } from './translate.js';
import { IDLE_REASON, idleSessions, readSeal, writeSeal, type IdleSession } from './sealing.js';
import type {
  DecodedEvent, IncompleteSeal, QueryOptions, QueryResult, SessionFilter, SessionState, SessionSummary, StoredEvent, TrustedKeys, VerifyResult,
} from './types.js';
import { ChainVerifier, type VerifyContext } from './verify.js';

export interface InsertReport {
  events: number;
  commands: number;
  sessions: number;
}

/** The recording store: writes for the materializer, reads for the API. */
export interface Store {
  readonly database: string;
  /** Where the engine is, for messages. */
  readonly describe: string;
  /** Creates the database and applies pending schemas/clickhouse migrations. */
  migrate(): Promise<MigrationReport>;
  /** Applies config `retention`: table TTLs, or on ClickHouse 18.16 drops expired month partitions (retention.ts). */
  applyRetention(retention: RetentionDays): Promise<RetentionReport>;
  /** Writes decoded events and the command/session rows they update; resolves once ClickHouse accepted all of it. */
  insertEvents(events: readonly DecodedEvent[]): Promise<InsertReport>;
  listSessions(filter?: SessionFilter): Promise<SessionSummary[]>;
  /** @throws SessionNotFoundError */
  getSession(id: string): Promise<SessionSummary>;
  /** A page of a session's events, each once, in seq order. */
  sessionEvents(id: string, page?: { fromSeq?: number; limit?: number }): Promise<StoredEvent[]>;
  /**
   * A session's events with fromSeq ≤ seq < toSeq, each once, in seq order. A bounded range
   * reads only its part of the session, however long the session is (prefer it to
   * sessionEvents for paging through a long one). With `maxBytes` the page ends before the event
   * that would take its payload and Avro past that many bytes (at least one event): the next page
   * starts after its last event. Reading the sizes first costs a few milliseconds (migration 004's
   * event_bytes column).
   * @throws StoreError BAD_REQUEST for a maxBytes that is not a positive integer
   */
  eventRange(id: string, fromSeq: number, toSeq: number, opts?: RangeOptions): Promise<StoredEvent[]>;
  /** The highest seq stored for a session, -1 when none is. */
  lastStoredSeq(id: string): Promise<number>;
  /** Every event of a session, each once, in seq order, read range by range (at most pageSize events and 16 MiB of frames a range). */
  iterateSessionEvents(id: string, pageSize?: number): AsyncIterable<StoredEvent>;
  /** SOC SQL, always read-only. */
  query(sql: string, opts: QueryOptions): Promise<QueryResult>;
  /** Recomputes the session's chain and seal from the stored Avro. @throws SessionNotFoundError */
  verifySession(id: string, trustedKeys: TrustedKeys): Promise<VerifyResult>;
  /** Sessions without SessionEnded whose newest event is older than cutoffMicros (see sealing.ts). */
  idleSessions(cutoffMicros: number, limit?: number): Promise<IdleSession[]>;
  /** Records a materializer's incomplete seal and ends the session's row as incomplete. */
  sealIncomplete(seal: IncompleteSeal): Promise<void>;
  /** The materializer's seal on a session, if any. */
  incompleteSeal(id: string): Promise<IncompleteSeal | undefined>;
  /** Sessions, commands, denials, approvals and masked values per bucket of a range, the top identities and denied commands (dashboard.ts). */
  dashboard(range: DashboardRange): Promise<DashboardStats>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const EVENT_BINARY = new Set(['payload', 'avro']);
const DEFAULT_PAGE = 2000;
/** Bytes of payload and Avro the store's own paging (iterateSessionEvents, verifySession) holds at once. */
const PAGE_BYTES = 16 * 1024 * 1024;

/**
 * How event rows are read. PREWHERE on the key reads payload and Avro only of the rows in range
 * (18.16 moves no condition on key columns to PREWHERE by itself, nor any with FINAL), and blocks of
 * 32 rows (no block-size estimate, which would round up to a whole granule) let it skip the rest
 * of a granule: a page of ten 1.5 MB frames in 64-row granules takes ~130 ms instead of ~340 ms
 * (schemas/clickhouse/README.md, measurements).
 */
const FRAME_READ_SETTINGS = 'SETTINGS max_block_size = 32, preferred_block_size_bytes = 0';

const seqRange = (from: number, to: number): string => `seq >= ${uint(from)} AND seq < ${uint(to)}`;
const rowBytes = (r: EventRow): number => r.payload.length + r.avro.length;
/** Rows in seq order with each seq once: FINAL collapses copies only within a partition (a redelivered copy is always in the same one, but be exact). */
const once = (rows: EventRow[]): EventRow[] => rows.filter((r, i) => i === 0 || rows[i - 1]!.seq !== r.seq);

function toStored(r: EventRow): StoredEvent {
  // A Frame row with empty message arrays was written without them (not by this store, whose
  // rows and column defaults always list a frame's messages): one message, as the Avro reader says.
  const listed = r.type !== 'Frame' || r.message_types.length > 0;
  return {
    sessionId: r.session_id, seq: r.seq, tsMicros: r.ts_micros, nodeId: r.node_id, type: r.type, direction: r.direction,
    messageType: r.message_type, messageTypes: listed ? r.message_types : [r.message_type], messageOffsets: listed ? r.message_offsets : [0],
    commandId: r.command_id, payload: r.payload, redacted: r.redacted === 1, avro: r.avro, hash: r.hash, prevHash: r.prev_hash,
  };
}

function stateOf(r: SessionRow): SessionState {
  if (r.ended_micros === 0) return 'open';
  if (r.complete !== 1) return 'incomplete';
  return r.sealed === 1 ? 'sealed' : 'ended';
}

/** SQL condition for a session state (the inverse of stateOf). */
const STATE_SQL: Record<SessionState, string> = {
  open: 'ended_micros = 0',
  incomplete: 'ended_micros > 0 AND complete = 0',
  sealed: 'ended_micros > 0 AND complete = 1 AND sealed = 1',
  ended: 'ended_micros > 0 AND complete = 1 AND sealed = 0',
};

const VERDICTS = new Set(['ALLOW', 'DENY', 'APPROVAL', 'MASK']);

function toSummary(r: SessionRow): SessionSummary {
  return {
    state: stateOf(r),
    sessionId: r.session_id, subject: r.subject, issuer: r.issuer, groups: r.groups, tokenId: r.token_id, connection: r.connection,
    protocol: r.protocol, clientAddress: r.client_address, tls: r.tls === 1, attributesJson: r.attributes, nodeId: r.node_id,
    startedMicros: r.started_micros, ended: r.ended_micros > 0, endedMicros: r.ended_micros, endReason: r.end_reason, endError: r.end_error,
    // Frames and messages are counted from the recording (counters.ts), as replay counts them.
    counters: { framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0, bytesIn: r.bytes_in, bytesOut: r.bytes_out, commands: r.commands, denied: r.denied },
    lastSeq: r.last_seq, sealedHash: r.final_hash, finalHash: r.final_hash, sealedBy: r.sealed_by, complete: r.complete === 1, sealed: r.sealed === 1,
  };
}

/** Rows from several partitions may survive FINAL (e.g. a SessionEnded whose start was never seen): keep the newest. */
function newestPerSession(rows: SessionRow[]): SessionRow[] {
  const by = new Map<string, SessionRow>();
  for (const r of rows) {
    const prev = by.get(r.session_id);
    if (!prev || prev.version < r.version) by.set(r.session_id, r);
  }
  return [...by.values()];
}

class ClickHouseStore implements Store {
  private readonly projector: Projector;
  private shapeKnown: { commandColumns: readonly ColumnSpec[]; frameCommands: boolean; at: number } | undefined;

  constructor(private readonly exec: Executor) {
    this.projector = new Projector(exec, async () => (await this.shape()).commandColumns);
  }

  get database(): string {
    return this.exec.database;
  }

  get describe(): string {
    return `${this.exec.describe}, database ${this.exec.database}`;
  }

  migrate(): Promise<MigrationReport> {
    this.shapeKnown = undefined;
    return migrate(this.exec);
  }

  /**
   * The columns `commands` has and whether `frame_commands` exists: all of them once migrations
   * 005 and 006 ran; before (a store updated before its database was migrated, as in a rolling
   * upgrade) what is there, looked at again every 30 s until the migrations are.
   */
  private async shape(): Promise<{ commandColumns: readonly ColumnSpec[]; frameCommands: boolean }> {
    const k = this.shapeKnown;
    if (k && ((k.commandColumns.length === COMMAND_COLUMNS.length && k.frameCommands) || Date.now() - k.at < 30_000)) return k;
    const rows = await this.exec.select<{ table: string; name: string }>(
      `SELECT table, name FROM system.columns WHERE database = ${str(this.database)} AND table IN ('commands', 'frame_commands')`,
    );
    const have = new Set(rows.filter((r) => r.table === 'commands').map((r) => r.name));
    const commandColumns = COMMAND_COLUMNS.filter((c) => have.has(c.name));
    this.shapeKnown = { commandColumns: commandColumns.length === COMMAND_COLUMNS.length ? COMMAND_COLUMNS : commandColumns, frameCommands: rows.some((r) => r.table === 'frame_commands'), at: Date.now() };
    return this.shapeKnown;
  }

  applyRetention(retention: RetentionDays): Promise<RetentionReport> {
    return applyRetention(this.exec, retention);
  }

  async insertEvents(events: readonly DecodedEvent[]): Promise<InsertReport> {
    if (events.length === 0) return { events: 0, commands: 0, sessions: 0 };
    const projected = events.map((d) => toRows(d.event, d.body));
    const p = await this.projector.project(projected);
    // The inserts run side by side: none reads another, and whatever subset a failure or a
    // crash leaves written, the caller's retry (or the redelivered batch) writes again, and the
    // ReplacingMergeTrees collapse the copies. `allSettled` so a retry never overlaps an insert
    // of this attempt that is still running.
    const shape = await this.shape();
    const frameCommands = shape.frameCommands ? projected.flatMap((r) => r.frameCommands ?? []) : [];
    const results = await Promise.allSettled([
      this.exec.insert('events', EVENT_COLUMNS, projected.map((r) => r.event)),
      this.exec.insert('commands', shape.commandColumns, p.commands),
      this.exec.insert('sessions', SESSION_COLUMNS, p.sessions),
      ...(frameCommands.length > 0 ? [this.exec.insert('frame_commands', FRAME_COMMAND_COLUMNS, frameCommands)] : []),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.projector.written(p);
    return { events: projected.length, commands: p.commands.length, sessions: p.sessions.length };
  }

  private async sessionRows(where: string[], limit: number): Promise<SessionRow[]> {
    const rows = await this.exec.select<Record<string, unknown>>(
      `SELECT ${selectList(SESSION_COLUMNS)} FROM ${this.database}.sessions FINAL` +
        `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_micros DESC, session_id LIMIT ${uint(limit)}`,
    );
    return newestPerSession(rows.map((r) => parseRow<SessionRow>(SESSION_COLUMNS, r)));
  }

  async listSessions(filter: SessionFilter = {}): Promise<SessionSummary[]> {
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw new StoreError('BAD_REQUEST', `limit must be 1..100000, got ${limit}`);
    const where: string[] = [];
    if (filter.subject) where.push(`subject = ${str(filter.subject)}`);
    if (filter.connection) where.push(`connection = ${str(filter.connection)}`);
    if (filter.sinceMicros) where.push(`started_micros >= ${uint(filter.sinceMicros)}`);
    if (filter.untilMicros) where.push(`started_micros < ${uint(filter.untilMicros)}`);
    if (filter.state) {
      const cond = STATE_SQL[filter.state];
      if (!cond) throw new StoreError('BAD_REQUEST', `state must be one of ${Object.keys(STATE_SQL).join(', ')}, got ${filter.state}`);
      where.push(`(${cond})`);
    }
    if (filter.verdict) {
      if (!VERDICTS.has(filter.verdict)) throw new StoreError('BAD_REQUEST', `verdict must be one of ${[...VERDICTS].join(', ')}, got ${filter.verdict}`);
      // From commands, so sessions still open count too (their counters arrive with SessionEnded).
      const decided = `session_id IN (SELECT session_id FROM ${this.database}.commands WHERE decision = ${str(filter.verdict)})`;
      // Masking is no decision of its own (an allowed command's results are masked): MASK is a
      // session in which any frame had a value masked.
      where.push(filter.verdict === 'MASK' ? `(${decided} OR session_id IN (SELECT session_id FROM ${this.database}.events WHERE masked > 0))` : decided);
    }
    const list = (await this.sessionRows(where, limit)).map(toSummary);
    await addRecordedCounts(this.exec, list);
    return list;
  }

  async getSession(id: string): Promise<SessionSummary> {
    const [row] = await this.sessionRows([`session_id = ${str(id)}`], 10);
    if (!row) throw new SessionNotFoundError(id);
    const s = toSummary(row);
    await addRecordedCounts(this.exec, [s]);
    return s;
  }

  private async eventRows(id: string, range: string, final: boolean, limit?: number): Promise<EventRow[]> {
    const raw = await this.exec.selectBinary(
      `SELECT ${EVENT_COLUMNS.map((c) => c.name).join(', ')} FROM ${this.database}.events${final ? ' FINAL' : ''}` +
        ` PREWHERE session_id = ${str(id)} AND ${range} ORDER BY seq${limit ? ` LIMIT ${uint(limit)}` : ''} ${FRAME_READ_SETTINGS}`,
    );
    return decodeRowBinary<EventRow>(EVENT_COLUMNS, raw, EVENT_BINARY);
  }

  async sessionEvents(id: string, page: { fromSeq?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    return once(await this.eventRows(id, `seq >= ${uint(page.fromSeq ?? 0)}`, true, page.limit ?? DEFAULT_PAGE)).map(toStored);
  }

  async eventRange(id: string, fromSeq: number, toSeq: number, opts: RangeOptions = {}): Promise<StoredEvent[]> {
    const { maxBytes } = opts;
    if (maxBytes !== undefined) checkMaxBytes(maxBytes);
    if (toSeq <= fromSeq) return [];
    if (maxBytes === undefined) return once(await this.eventRows(id, seqRange(fromSeq, toSeq), true)).map(toStored);
    const end = await this.budgetEnd(id, fromSeq, toSeq, maxBytes);
    if (end === undefined) return [];
    const rows = once(await this.eventRows(id, seqRange(fromSeq, end), true));
    // An event stored between the two reads (a gap filled late) must not take the page past the budget.
    return rows.slice(0, fitting(rows.map(rowBytes), maxBytes)).map(toStored);
  }

  /** Where a page of the range ends at maxBytes (budgetEnd), from the sizes of its stored events; undefined when none is stored. */
  private async budgetEnd(id: string, fromSeq: number, toSeq: number, maxBytes: number): Promise<number | undefined> {
    return budgetEnd(await this.storedSizes(id, fromSeq, toSeq), maxBytes);
  }

  /** The bytes of each stored event of a range, in seq order, each seq once (copies of an event count once). */
  private async storedSizes(id: string, fromSeq: number, toSeq: number): Promise<SeqBytes[]> {
    const sizes = (bytes: string) =>
      this.exec.select<{ seq: string; bytes: string }>(
        `SELECT seq, max(${bytes}) AS bytes FROM ${this.database}.events WHERE session_id = ${str(id)} AND ${seqRange(fromSeq, toSeq)} GROUP BY seq ORDER BY seq`,
      );
    let rows: { seq: string; bytes: string }[];
    try {
      rows = await sizes('event_bytes');
    } catch (err) {
      // Before migration 004 (an API updated before its materializer migrated) the sizes come from
      // the frames themselves: as slow as reading the events, but the page is still bounded.
      if (!(err instanceof StoreError && err.engineCode === CH_UNKNOWN_IDENTIFIER)) throw err;
      rows = await sizes('length(payload) + length(avro)');
    }
    return rows.map((r) => ({ seq: Number(r.seq), bytes: Number(r.bytes) }));
  }

  async lastStoredSeq(id: string): Promise<number> {
    const [row] = await this.exec.select<{ n: string; last: string }>(
      `SELECT count() AS n, max(seq) AS last FROM ${this.database}.events WHERE session_id = ${str(id)}`,
    );
    return row && Number(row.n) > 0 ? Number(row.last) : -1;
  }

  async *iterateSessionEvents(id: string, pageSize = DEFAULT_PAGE): AsyncIterable<StoredEvent> {
    // Ranges up to the last stored seq (read again at the end, for a session still being
    // written), so a gap in the seqs does not end the iteration early.
    let last = await this.lastStoredSeq(id);
    for (let from = 0; from <= last; ) {
      const page = await this.eventRange(id, from, from + pageSize, { maxBytes: PAGE_BYTES });
      yield* page;
      from = page.length > 0 ? page.at(-1)!.seq + 1 : from + pageSize;
      if (from > last) last = await this.lastStoredSeq(id);
    }
  }

  async query(sql: string, opts: QueryOptions): Promise<QueryResult> {
    if (opts.readonly !== true) throw new StoreError('BAD_REQUEST', 'store.query only runs read-only SQL');
    if (!sql.trim()) throw new StoreError('BAD_REQUEST', 'empty SQL');
    const maxRows = opts.maxRows ?? 10_000;
    if (!Number.isSafeInteger(maxRows) || maxRows < 1) throw new StoreError('BAD_REQUEST', `maxRows must be a positive integer, got ${maxRows}`);
    return this.exec.text(sql, { maxRows });
  }

  async verifySession(id: string, trustedKeys: TrustedKeys): Promise<VerifyResult> {
    const [stats] = await this.exec.select<{ n: string; last: string }>(
      `SELECT count() AS n, max(seq) AS last FROM ${this.database}.events WHERE session_id = ${str(id)}`,
    );
    const [row] = await this.sessionRows([`session_id = ${str(id)}`], 10);
    const seal = await readSeal(this.exec, id);
    const context: VerifyContext = {
      ...(seal ? { seal } : {}),
      // A gateway's end (not a materializer seal) says how many events there were.
      ...(row && row.ended_micros > 0 && row.end_reason !== IDLE_REASON ? { recordedEndSeq: row.last_seq } : {}),
    };
    const verifier = new ChainVerifier(id, trustedKeys, context);
    if (!stats || Number(stats.n) === 0) {
      if (!row && !seal) throw new SessionNotFoundError(id);
      verifier.add(0, []);
      return verifier.finish();
    }
    const last = Number(stats.last);
    // Read every stored copy (no FINAL): a forged row next to the genuine one must not hide. Pages
    // end at PAGE_BYTES of one copy each, so a bulk session is never held whole.
    for (let from = 0, end = 0; from <= last && verifier.ok; from = end) {
      const to = Math.min(from + DEFAULT_PAGE, last + 1);
      end = (await this.budgetEnd(id, from, to, PAGE_BYTES)) ?? to;
      const rows = await this.eventRows(id, seqRange(from, end), false);
      for (let i = 0; i < rows.length && verifier.ok; ) {
        let j = i;
        while (j < rows.length && rows[j]!.seq === rows[i]!.seq) j++;
        verifier.add(rows[i]!.seq, rows.slice(i, j));
        i = j;
      }
    }
    return verifier.finish();
  }

  idleSessions(cutoffMicros: number, limit?: number): Promise<IdleSession[]> {
    return idleSessions(this.exec, cutoffMicros, limit);
  }

  sealIncomplete(seal: IncompleteSeal): Promise<void> {
    return writeSeal(this.exec, seal);
  }

  incompleteSeal(id: string): Promise<IncompleteSeal | undefined> {
    return readSeal(this.exec, id);
  }

  dashboard(range: DashboardRange): Promise<DashboardStats> {
    return dashboardStats(this.exec, range);
  }

  ping(): Promise<void> {
    return this.exec.ping();
  }

  close(): Promise<void> {
    return this.exec.close();
  }
}

/** A store on any executor (the conformance suite runs each implementation through this). */
export function storeOn(exec: Executor): Store {
  return new ClickHouseStore(exec);
}

/** The store on a ClickHouse server (config.clickhouse). */
export function createStore(cfg: ClickHouseConfig): Store {
  return storeOn(createHttpExecutor(cfg));
}
