import { createServer, type Server, type Socket } from 'node:net';
import {
  Frontend,
  MessageReader,
  PgProtocolError,
  decodeBind,
  decodeClose,
  decodeDescribe,
  decodeExecute,
  decodeParse,
  decodeQuery,
  decodeStartupPacket,
  encodeAuthentication,
  encodeBackendKeyData,
  encodeBindComplete,
  encodeCloseComplete,
  encodeCommandComplete,
  encodeDataRow,
  encodeEmptyQueryResponse,
  encodeErrorResponse,
  encodeNoData,
  encodeParameterDescription,
  encodeParameterStatus,
  encodeParseComplete,
  encodeReadyForQuery,
  encodeRowDescription,
  type PgMessage,
} from '../../../protocols/postgres/index.js';

/**
 * What the upstream does on a connection whose StartupMessage carries a given
 * application_name (the gateway passes that parameter through, so a test picks the behaviour
 * of the upstream end of the session it opens).
 */
export interface UpstreamScript {
  /** Sent instead of the normal greeting (AuthenticationOk … ReadyForQuery); the socket then ends. */
  login?: Buffer;
  /** Sent, in these pieces, once the first client message after the greeting arrived. */
  frames?: Buffer[];
  /** End the socket after `frames`; otherwise wait for the client's Terminate. */
  thenClose?: boolean;
  /** Never answer the StartupMessage (the gateway's login timeout must end it). */
  silent?: boolean;
  /** Answer the StartupMessage normally, but only after this long. */
  delayMs?: number;
  /** Written in the same write as the greeting, then the rest after `laterMs`. */
  withGreeting?: { now: Buffer; later: Buffer; laterMs: number };
}

const MAX_FRAME = 64 * 1024 * 1024;
const SELECT_INT = /^SELECT (-?\d{1,15})$/;
const SELECT_PARAM = /^SELECT \$1(?:::\w+)?$/;

/** The greeting a PostgreSQL server sends after authentication succeeded. */
export function greeting(processId: number): Buffer {
  return Buffer.concat([
    encodeAuthentication({ type: 'ok' }),
    encodeParameterStatus('server_version', '17.0 (fake)'),
    encodeParameterStatus('client_encoding', 'UTF8'),
    encodeParameterStatus('integer_datetimes', 'on'),
    encodeBackendKeyData(processId, processId * 7919),
    encodeReadyForQuery('I'),
  ]);
}

/** A call of a function that does not exist (what the gateway sends to abort a transaction) fails as in PostgreSQL. */
const MISSING_FUNCTION = /^SELECT (pg_catalog\.chaperone_abort_\w+)\(\)$/;
const raise = (sql: string): Buffer | undefined => {
  const r = MISSING_FUNCTION.exec(sql);
  return r ? encodeErrorResponse({ severity: 'ERROR', code: '42883', message: `function ${r[1]!}() does not exist` }) : undefined;
};
const fatal = (message: string) => encodeErrorResponse({ severity: 'FATAL', code: '08P01', message });
const oneInt = (name: string) => encodeRowDescription([{ name, typeOid: 20, typeSize: 8 }]);

/**
 * A PostgreSQL server in a few lines: trust authentication, then either a scripted (fuzzed)
 * answer or the small part of the protocol the healthy client uses (`SELECT <int>` as a simple
 * query, `SELECT $1` through Parse/Bind/Describe/Execute/Sync), answering everything else the
 * way PostgreSQL does at the protocol level (syntax errors, FATAL on bad frames).
 */
export class FakeUpstream {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly scripts = new Map<string, UpstreamScript>();
  private nextPid = 1000;
  readonly counts = { connections: 0, cancelRequests: 0, framesReceived: 0, scriptedFramesSent: 0 };
  /** Protocol facts the tests assert on; must stay empty. */
  readonly violations: string[] = [];

  /** @param checkRecorded told each client frame the upstream receives; false = it was never recorded. */
  constructor(private readonly checkRecorded: (frame: Buffer) => boolean = () => true) {}

  async listen(): Promise<number> {
    this.server = createServer({ noDelay: true }, (s) => this.accept(s));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Open upstream connections (the gateway must close every one it opened). */
  get open(): number {
    return this.sockets.size;
  }

  script(applicationName: string, s: UpstreamScript): void {
    this.scripts.set(applicationName, s);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private violation(what: string): void {
    if (this.violations.length < 50) this.violations.push(what);
  }

  private accept(socket: Socket): void {
    this.counts.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new MessageReader({ maxMessageBytes: MAX_FRAME, startup: true });
    let session: ((m: PgMessage) => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      const { messages, error } = reader.push(chunk);
      try {
        for (const m of messages) {
          if (socket.destroyed) return;
          if (session) session(m);
          else session = this.startup(socket, m);
        }
      } catch (err) {
        if (!(err instanceof PgProtocolError)) throw err;
        return void socket.end(fatal(err.message));
      }
      if (error && !socket.destroyed) socket.end(fatal(`invalid frame: ${error.message}`));
    });
  }

  /** Handles the startup packet; returns the handler for the messages after it. */
  private startup(socket: Socket, m: PgMessage): ((m: PgMessage) => void) | undefined {
    const packet = decodeStartupPacket(m.payload);
    if (packet.kind === 'cancel') {
      this.counts.cancelRequests++;
      socket.end();
      return undefined;
    }
    if (packet.kind !== 'startup') {
      socket.write('N');
      return undefined;
    }
    const script = this.scripts.get(packet.params.application_name ?? '');
    if (script) this.scripts.delete(packet.params.application_name!);
    if (script?.silent) return () => {};
    if (script?.login) {
      this.counts.scriptedFramesSent++;
      socket.end(script.login);
      return () => {};
    }
    const hello = greeting(this.nextPid++);
    const extra = script?.withGreeting;
    if (script?.delayMs) setTimeout(() => socket.destroyed || socket.write(hello), script.delayMs);
    else socket.write(extra ? Buffer.concat([hello, extra.now]) : hello);
    if (extra) setTimeout(() => socket.destroyed || socket.write(extra.later), extra.laterMs);
    return script?.frames ? this.scripted(socket, script) : this.answering(socket);
  }

  private scripted(socket: Socket, script: UpstreamScript): (m: PgMessage) => void {
    let sent = false;
    return (m) => {
      this.received(m);
      if (m.code === Frontend.Terminate) return void socket.end();
      if (sent) return;
      sent = true;
      for (const piece of script.frames!) socket.write(piece);
      if (script.thenClose) socket.end();
    };
  }

  private received(m: PgMessage): void {
    this.counts.framesReceived++;
    if (!this.checkRecorded(m.frame)) this.violation(`upstream received an unrecorded ${String.fromCharCode(m.code)} frame of ${m.frame.length} bytes`);
  }

  private answering(socket: Socket): (m: PgMessage) => void {
    const statements = new Map<string, string>();
    const portals = new Map<string, { sql: string; param: Buffer | null }>();
    // After an error in an extended batch PostgreSQL ignores everything up to the Sync.
    let failed = false;
    // The transaction status, as far as BEGIN / COMMIT / ROLLBACK and errors go.
    const tx = { status: 'I' as 'I' | 'T' | 'E' };
    return (m) => {
      this.received(m);
      if (failed && m.code !== Frontend.Sync && m.code !== Frontend.Terminate) return;
      failed = false;
      // A PgProtocolError thrown here ends the connection with FATAL, as PostgreSQL does.
      const out = this.answer(m, statements, portals, tx);
      if (out !== 'end' && m.code !== Frontend.Query && m.code !== Frontend.FunctionCall && out[0]?.[0] === 0x45) {
        failed = true;
        if (tx.status === 'T') tx.status = 'E';
      }
      if (out === 'end') socket.end();
      else if (out.length > 0) socket.write(Buffer.concat(out));
    };
  }

  private answer(m: PgMessage, statements: Map<string, string>, portals: Map<string, { sql: string; param: Buffer | null }>, tx: { status: 'I' | 'T' | 'E' }): Buffer[] | 'end' {
    switch (m.code) {
      case Frontend.Query: {
        const sql = decodeQuery(m.payload);
        const verb = sql.trim().toUpperCase();
        if (verb === 'BEGIN') {
          tx.status = 'T';
          return [encodeCommandComplete('BEGIN'), encodeReadyForQuery('T')];
        }
        if (verb === 'COMMIT' || verb === 'ROLLBACK') {
          const tag = tx.status === 'E' ? 'ROLLBACK' : verb;
          tx.status = 'I';
          return [encodeCommandComplete(tag), encodeReadyForQuery('I')];
        }
        if (tx.status === 'E') return [encodeErrorResponse({ severity: 'ERROR', code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' }), encodeReadyForQuery('E')];
        const raised = raise(sql);
        if (raised) {
          if (tx.status === 'T') tx.status = 'E';
          return [raised, encodeReadyForQuery(tx.status)];
        }
        const n = SELECT_INT.exec(sql);
        if (n) return [oneInt('?column?'), encodeDataRow([n[1]!]), encodeCommandComplete('SELECT 1'), encodeReadyForQuery(tx.status)];
        if (sql.trim() === '') return [encodeEmptyQueryResponse(), encodeReadyForQuery(tx.status)];
        if (tx.status === 'T') tx.status = 'E';
        return [encodeErrorResponse({ severity: 'ERROR', code: '42601', message: 'syntax error (fake upstream)' }), encodeReadyForQuery(tx.status)];
      }
      case Frontend.Parse: {
        const p = decodeParse(m.payload);
        const raised = raise(p.sql);
        if (raised) return [raised];
        statements.set(p.name, p.sql);
        return [encodeParseComplete()];
      }
      case Frontend.Bind: {
        const b = decodeBind(m.payload);
        portals.set(b.portal, { sql: statements.get(b.statement) ?? '', param: b.params[0] ?? null });
        return [encodeBindComplete()];
      }
      case Frontend.Describe: {
        const d = decodeDescribe(m.payload);
        const sql = d.kind === 'S' ? (statements.get(d.name) ?? '') : (portals.get(d.name)?.sql ?? '');
        const row = SELECT_PARAM.test(sql) ? oneInt('value') : encodeNoData();
        return d.kind === 'S' ? [encodeParameterDescription(SELECT_PARAM.test(sql) ? [20] : []), row] : [row];
      }
      case Frontend.Execute: {
        const e = decodeExecute(m.payload);
        const portal = portals.get(e.portal);
        if (portal && SELECT_PARAM.test(portal.sql)) return [encodeDataRow([portal.param]), encodeCommandComplete('SELECT 1')];
        return [encodeCommandComplete('SELECT 0')];
      }
      case Frontend.Close:
        decodeClose(m.payload);
        return [encodeCloseComplete()];
      case Frontend.Sync:
        return [encodeReadyForQuery(tx.status)];
      case Frontend.FunctionCall:
        return [encodeErrorResponse({ severity: 'ERROR', code: '42883', message: 'function does not exist (fake upstream)' }), encodeReadyForQuery('I')];
      case Frontend.Flush:
      case Frontend.CopyData:
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        // Outside COPY PostgreSQL ignores these (postgres.c: "Accept but ignore these messages").
        return [];
      case Frontend.Terminate:
        return 'end';
      default:
        throw new PgProtocolError('UNEXPECTED_MESSAGE', `invalid frontend message type ${m.code}`);
    }
  }
}
