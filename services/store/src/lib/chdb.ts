import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChdbQueryStream, Session } from 'chdb';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import type { ColumnSpec } from './rows.js';
import { ident } from './sql.js';
import { fromEngineText } from './translate.js';
import { encodeTsv, splitTsvLine } from './tsv.js';
import type { QueryColumn, QueryResult } from './types.js';
import { errorMessage } from '@chaperone/observability';

export interface ChdbOptions {
  /** The store's database. @default 'chaperone' */
  database?: string;
  /**
   * Data directory. chdb holds one data directory per process, so every executor of a process
   * must use the same one. @default a fresh temporary directory, removed by close()
   */
  path?: string;
}

type ChdbModule = typeof import('chdb');

/** Loads the native engine on first use, so processes that never embed it never load 500 MB of it. */
async function loadChdb(): Promise<ChdbModule> {
  try {
    return await import('chdb');
  } catch (err) {
    throw new StoreError(
      'UNAVAILABLE',
      `the embedded ClickHouse engine (npm package chdb) cannot be loaded: ${errorMessage(err)}. ` +
        'It ships a native library for linux/macOS on x64 and arm64; run `npm install` at the repository root',
      { cause: err },
    );
  }
}

const SOC_FORMAT = 'TabSeparatedWithNamesAndTypes';

const trimStatement = (sql: string) => sql.trim().replace(/;+\s*$/, '').trim();

/**
 * The store's Executor on chdb, a current ClickHouse engine inside this process. Two sessions on
 * one data directory: the store's own, and one for SOC SQL that is switched to `readonly = 1`
 * before it runs anything (settings are per session in chdb, and readonly=1 cannot be undone),
 * so caller SQL gets the same refusal as from the server's read-only user.
 */
function parseSocText(text: string, maxRows: number): QueryResult {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const names = splitTsvLine(lines[0] ?? '');
  const types = lines.length > 1 ? splitTsvLine(lines[1]!) : [];
  const body = lines.slice(2);
  return {
    columns: lines.length ? names.map((n, i) => ({ name: n ?? '', type: types[i] ?? '' })) : [],
    rows: body.slice(0, maxRows).map(splitTsvLine),
    truncated: body.length > maxRows,
  };
}

class ChdbExecutor implements Executor {
  readonly describe: string;
  private soc: Session | undefined;
  private socReady: Promise<Session> | undefined;
  private inDatabase = false;

  constructor(
    private readonly chdb: ChdbModule,
    readonly database: string,
    private readonly path: string,
    private readonly temporary: boolean,
    private readonly main: Session,
  ) {
    this.describe = `embedded ClickHouse (chdb) in ${path}`;
  }

  private async run(session: Session, sql: string, format = 'TabSeparated'): Promise<string> {
    try {
      return (await session.queryAsync(sql, { format })).text();
    } catch (err) {
      throw fromEngineText(errorMessage(err), err);
    }
  }

  async command(sql: string, opts: { inDatabase?: boolean } = {}): Promise<void> {
    // Internal statements name their database, so staying in it afterwards changes nothing for them.
    if (opts.inDatabase && !this.inDatabase) {
      await this.run(this.main, `USE ${this.database}`);
      this.inDatabase = true;
    }
    await this.run(this.main, sql);
  }

  async select<T>(sql: string): Promise<T[]> {
    const text = await this.run(this.main, sql, 'JSONEachRow');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as T);
  }

  async selectBinary(sql: string): Promise<Buffer> {
    try {
      const bytes = (await this.main.queryAsync(trimStatement(sql), { format: 'RowBinary' })).bytes();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw fromEngineText(errorMessage(err), err);
    }
  }

  async insert(table: string, columns: readonly ColumnSpec[], rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.main.insert({
        table: `${this.database}.${ident(table)}`,
        values: encodeTsv(columns, rows),
        format: 'TabSeparated',
        columns: columns.map((c) => c.name),
      });
    } catch (err) {
      throw fromEngineText(errorMessage(err), err);
    }
  }

  private socSession(): Promise<Session> {
    this.socReady ??= (async () => {
      const s = new this.chdb.Session(this.path, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
      this.soc = s;
      await this.run(s, `USE ${this.database}`);
      await this.run(s, 'SET readonly = 1');
      return s;
    })();
    return this.socReady;
  }

  async text(sql: string, opts: { maxRows: number }): Promise<QueryResult> {
    const session = await this.socSession();
    try {
      let stream: ChdbQueryStream;
      try {
        stream = session.queryStream(trimStatement(sql), { format: SOC_FORMAT });
      } catch (err) {
        throw fromEngineText(errorMessage(err), err);
      }
      return await this.readStream(stream, opts.maxRows);
    } catch (err) {
      // chdb streams SELECTs only; anything else runs whole (and a write is refused as read-only).
      if (!(err instanceof StoreError && /Streaming query is not supported/.test(err.message))) throw err;
      return parseSocText(await this.run(session, trimStatement(sql), SOC_FORMAT), opts.maxRows);
    }
  }

  private async readStream(stream: ChdbQueryStream, maxRows: number): Promise<QueryResult> {
    let names: (string | null)[] | undefined;
    let columns: QueryColumn[] | undefined;
    const rows: (string | null)[][] = [];
    let truncated = false;
    let rest = '';
    try {
      // Chunks end on row boundaries in practice; carrying a partial line over costs nothing.
      outer: for await (const chunk of stream) {
        const lines = (rest + chunk.text()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!names) names = splitTsvLine(line);
          else if (!columns) columns = splitTsvLine(line).map((type, i) => ({ name: names![i] ?? '', type: type ?? '' }));
          else if (rows.length < maxRows) rows.push(splitTsvLine(line));
          else {
            truncated = true;
            break outer;
          }
        }
      }
    } catch (err) {
      throw fromEngineText(errorMessage(err), err);
    } finally {
      stream.cancel();
    }
    return { columns: columns ?? (names ?? []).map((n) => ({ name: n ?? '', type: '' })), rows, truncated };
  }

  async ping(): Promise<void> {
    await this.run(this.main, 'SELECT 1');
  }

  close(): Promise<void> {
    this.soc?.close();
    this.main.close();
    if (this.temporary) rmSync(this.path, { recursive: true, force: true });
    return Promise.resolve();
  }
}

/**
 * An executor on the embedded chdb engine: the same DDL and queries as the server, in-process.
 * For tests and single-machine tools; one data directory per process (chdb's own limit).
 */
export async function createChdbExecutor(opts: ChdbOptions = {}): Promise<Executor> {
  const chdb = await loadChdb();
  const database = ident(opts.database ?? 'chaperone');
  const temporary = opts.path === undefined;
  const path = opts.path ?? mkdtempSync(join(tmpdir(), 'chaperone-chdb-'));
  let main: Session;
  try {
    // 64-bit integers quoted in JSON, as the server does, so rows parse the same from both.
    main = new chdb.Session(path, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  } catch (err) {
    if (temporary) rmSync(path, { recursive: true, force: true });
    throw new StoreError('UNAVAILABLE', `embedded ClickHouse (chdb) cannot open ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return new ChdbExecutor(chdb, database, path, temporary, main);
}
