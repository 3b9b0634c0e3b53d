import {
  COMMAND_COLUMNS, SESSION_COLUMNS, emptyCommandRow, emptySessionRow, merge, commandKey,
  type ColumnSpec, type CommandRow, type ProjectedRows, type SessionRow,
} from './rows.js';
import { parseRow, selectList } from './columns.js';
import type { Executor } from './executor.js';
import { str, uint } from './sql.js';

/** A small LRU map: session rows are looked up again by every later batch of the same session. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export interface Projection {
  commands: CommandRow[];
  sessions: SessionRow[];
}

/**
 * Folds the command and session updates of a batch onto the current rows. A Decision or a
 * SessionEnded usually arrives in the same batch as what it completes; when it does not, the
 * current row is read back from ClickHouse (FINAL), so the result is the same whether events
 * arrive together, apart, or twice. Session rows are cached (what SessionStarted sets never
 * changes), command rows are not (another consumer may have extended them since).
 */
export class Projector {
  private readonly sessionCache = new Lru<SessionRow>(20_000);

  constructor(
    private readonly exec: Executor,
    /** The columns `commands` has now (before migration 005, fewer). */
    private readonly commandColumns: () => Promise<readonly ColumnSpec[]> = () => Promise.resolve(COMMAND_COLUMNS),
  ) {}

  async project(batch: readonly ProjectedRows[]): Promise<Projection> {
    const { sessionIds, commandKeys } = this.missing(batch);
    const [fetchedSessions, fetchedCommands] = await Promise.all([this.fetchSessions(sessionIds), this.fetchCommands(commandKeys)]);
    const sessions = new Map<string, SessionRow>();
    const commands = new Map<string, CommandRow>();
    const session = (id: string) => sessions.get(id) ?? fetchedSessions.get(id) ?? this.sessionCache.get(id);
    for (const rows of batch) {
      const sid = rows.event.session_id;
      if (rows.session) sessions.set(sid, merge(session(sid) ?? emptySessionRow(sid), rows.session));
      if (rows.command) {
        const key = rows.command.key;
        const base = commands.get(key) ?? fetchedCommands.get(key) ?? emptyCommandRow(sid, rows.event.command_id);
        const merged = merge(base, rows.command);
        const s = session(sid);
        if (s && !merged.subject) Object.assign(merged, { subject: s.subject, connection: s.connection });
        commands.set(key, merged);
      }
    }
    return { commands: [...commands.values()], sessions: [...sessions.values()] };
  }

  /** Remembers what was written, once ClickHouse accepted it. */
  written(p: Projection): void {
    for (const s of p.sessions) this.sessionCache.set(s.session_id, s);
  }

  private missing(batch: readonly ProjectedRows[]): { sessionIds: Set<string>; commandKeys: Map<string, [string, number]> } {
    const started = new Set<string>();
    const created = new Set<string>();
    const sessionIds = new Set<string>();
    const commandKeys = new Map<string, [string, number]>();
    for (const rows of batch) {
      const sid = rows.event.session_id;
      if (rows.event.type === 'SessionStarted') started.add(sid);
      else if ((rows.session || rows.command) && !started.has(sid) && !this.sessionCache.get(sid)) sessionIds.add(sid);
      if (rows.command) {
        if (rows.event.type === 'Command') created.add(rows.command.key);
        else if (!created.has(rows.command.key)) commandKeys.set(rows.command.key, [sid, rows.event.command_id]);
      }
    }
    return { sessionIds, commandKeys };
  }

  private async fetchSessions(ids: Set<string>): Promise<Map<string, SessionRow>> {
    const out = new Map<string, SessionRow>();
    if (ids.size === 0) return out;
    const db = this.exec.database;
    const rows = await this.exec.select<Record<string, unknown>>(
      `SELECT ${selectList(SESSION_COLUMNS)} FROM ${db}.sessions FINAL WHERE session_id IN (${[...ids].map(str).join(', ')})`,
    );
    for (const r of rows) {
      const row = parseRow<SessionRow>(SESSION_COLUMNS, r);
      const prev = out.get(row.session_id);
      if (!prev || prev.version < row.version) out.set(row.session_id, row);
    }
    return out;
  }

  private async fetchCommands(keys: Map<string, [string, number]>): Promise<Map<string, CommandRow>> {
    const out = new Map<string, CommandRow>();
    if (keys.size === 0) return out;
    const db = this.exec.database;
    const tuples = [...keys.values()].map(([s, c]) => `(${str(s)}, ${uint(c)})`).join(', ');
    const columns = await this.commandColumns();
    const rows = await this.exec.select<Record<string, unknown>>(
      `SELECT ${selectList(columns)} FROM ${db}.commands FINAL WHERE (session_id, command_id) IN (${tuples})`,
    );
    for (const r of rows) {
      const parsed = parseRow<CommandRow>(columns, r);
      const row = { ...emptyCommandRow(parsed.session_id, parsed.command_id), ...parsed };
      const key = commandKey(row.session_id, row.command_id);
      const prev = out.get(key);
      if (!prev || prev.version < row.version) out.set(key, row);
    }
    return out;
  }
}
