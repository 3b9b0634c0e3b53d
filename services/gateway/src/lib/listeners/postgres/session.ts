import type { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { signSeal, type Direction } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';
import {
  Backend,
  Frontend,
  MessageReader,
  decodeBind,
  decodeClose,
  decodeParse,
  decodeQuery,
  decodeReadyForQuery,
  encodeErrorResponse,
  encodeReadyForQuery,
  messageName,
  type PgMessage,
  type PgNotice,
  type TransactionStatus,
} from '../../protocols/postgres/index.js';
import { RecordingError } from '../../errors.js';
import type { SessionRecorder } from '../../recording/index.js';
import { decideSql, paramsForRecord, recordVerdict, type DecisionContext, type Verdict } from './commands.js';
import type { PgMetrics } from './metrics.js';

export interface ProxyOptions {
  nodeKey: KeyObject;
  maxInFlightBytes: number;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  log: Logger;
  metrics: PgMetrics;
}

interface Injection {
  /** Number of ReadyForQuery the upstream must have sent before these frames go out. */
  afterRfq: number;
  frames: Buffer[];
}

/**
 * The proxy phase of one PostgreSQL session. Client messages are recorded (Frame, Command,
 * Decision) and forwarded only after the event log acknowledged them; denied statements get
 * an ErrorResponse in the place the upstream's answer would have had. Upstream messages are
 * recorded and forwarded at once, with upstream reads paused while too many recorded bytes
 * await acknowledgement (DESIGN.md "Record-before-forward").
 */
export class PgProxySession {
  private readonly clientReader: MessageReader;
  private readonly serverReader: MessageReader;
  private clientQueue: Promise<void> = Promise.resolve();
  private commandSeq = 0;
  /** Prepared statements by name ('' = unnamed), with the decision taken at Parse. */
  private readonly prepared = new Map<string, Verdict>();
  private rfqExpected = 0;
  private rfqSeen = 0;
  private txStatus: TransactionStatus = 'I';
  private discardUntilSync: Verdict | undefined;
  private injections: Injection[] = [];
  private readonly pauses = new Set<'recording' | 'client'>();
  private terminating = false;
  private ended = false;
  readonly counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, commands: 0, denied: 0 };
  readonly done: Promise<string>;
  private resolveDone!: (reason: string) => void;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly recorder: SessionRecorder,
    private readonly ctx: DecisionContext,
    private readonly opts: ProxyOptions,
  ) {
    this.clientReader = new MessageReader({ maxMessageBytes: opts.maxMessageBytes });
    this.serverReader = new MessageReader({ maxMessageBytes: opts.maxMessageBytes });
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Starts relaying; `pendingClient` are messages the client already sent during the handshake. */
  start(pendingClient: PgMessage[]): void {
    this.recorder.on('failed', (err: RecordingError) => void this.end('recording-failed', err.message, this.recordingNotice(err)));
    this.recorder.on('drain', () => {
      if (this.recorder.unackedBytes <= this.opts.maxInFlightBytes) this.resume('recording');
    });
    this.client.on('data', (chunk: Buffer) => this.onClientChunk(chunk));
    this.client.on('close', () => void this.end(this.terminating ? 'client-terminate' : 'client-closed'));
    this.client.on('error', (e) => this.opts.log.debug({ err: e.message }, 'client socket error'));
    this.client.on('drain', () => this.resume('client'));
    this.upstream.on('data', (chunk: Buffer) => this.onServerChunk(chunk));
    this.upstream.on('close', () => void this.end(this.terminating ? 'client-terminate' : 'upstream-closed'));
    this.upstream.on('error', (e) => this.opts.log.warn({ err: e.message }, 'upstream socket error'));
    // A side that closed during the upstream login did so before these listeners existed.
    if (this.client.destroyed || this.upstream.destroyed) return void this.end(this.client.destroyed ? 'client-closed' : 'upstream-closed');
    if ('setTimeout' in this.client && typeof this.client.setTimeout === 'function') {
      (this.client as unknown as { setTimeout(ms: number, cb: () => void): void }).setTimeout(this.opts.idleTimeoutMs, () =>
        void this.end('idle-timeout', 'idle timeout', { severity: 'FATAL', code: '57P05', message: `chaperone: session idle for ${this.opts.idleTimeoutMs} ms; closing` }),
      );
    }
    if (pendingClient.length > 0) this.enqueueClient(pendingClient, undefined);
    this.client.resume();
    this.upstream.resume();
  }

  private onClientChunk(chunk: Buffer): void {
    const { messages, error } = this.clientReader.push(chunk);
    this.client.pause();
    this.enqueueClient(messages, error);
  }

  private enqueueClient(messages: PgMessage[], error: Error | undefined): void {
    this.clientQueue = this.clientQueue
      .then(() => this.handleClient(messages))
      .then(() => {
        if (error) return this.end('protocol-error', error.message, { severity: 'FATAL', code: '08P01', message: `chaperone: ${error.message}` });
        if (!this.ended) this.client.resume();
      })
      .catch((err: Error) => this.fail(err));
  }

  private async handleClient(messages: PgMessage[]): Promise<void> {
    if (this.ended) return;
    const out: Buffer[] = [];
    for (const m of messages) {
      this.record('CLIENT_TO_SERVER', m);
      this.counters.framesIn++;
      this.counters.bytesIn += m.frame.length;
      if (this.discardUntilSync) {
        if (m.code === Frontend.Sync) {
          this.deny(this.discardUntilSync);
          this.discardUntilSync = undefined;
        }
        continue;
      }
      switch (m.code) {
        case Frontend.Query: {
          const v = this.decide(decodeQuery(m.payload));
          this.execute(v, []);
          if (v.result !== 'allow') this.deny(v);
          else {
            out.push(m.frame);
            this.rfqExpected++;
          }
          break;
        }
        case Frontend.Parse: {
          const p = decodeParse(m.payload);
          const v = this.decide(p.sql);
          if (v.result !== 'allow') {
            this.execute(v, []);
            this.discardUntilSync = v;
          } else {
            this.prepared.set(p.name, v);
            out.push(m.frame);
          }
          break;
        }
        case Frontend.Bind: {
          // One execution of a prepared statement: its Command carries the bound values.
          const b = decodeBind(m.payload);
          const v = this.prepared.get(b.statement);
          if (v) this.execute(v, paramsForRecord(b.params, b.paramFormats));
          out.push(m.frame);
          break;
        }
        case Frontend.Close: {
          const c = decodeClose(m.payload);
          if (c.kind === 'S') this.prepared.delete(c.name);
          out.push(m.frame);
          break;
        }
        case Frontend.Sync:
          out.push(m.frame);
          this.rfqExpected++;
          break;
        case Frontend.Terminate:
          this.terminating = true;
          out.push(m.frame);
          break;
        default:
          out.push(m.frame);
      }
    }
    const t0 = process.hrtime.bigint();
    await this.recorder.flush();
    this.opts.metrics.recordWait.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    if (out.length > 0 && !this.ended) this.upstream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.flushInjections();
  }

  private decide(sql: string): Verdict {
    return decideSql(sql, this.ctx);
  }

  /** Records one execution of a decided SQL string as Command + Decision events. */
  private execute(v: Verdict, params: (string | null)[]): void {
    recordVerdict(v, this.recorder, () => ++this.commandSeq, params);
    this.counters.commands += v.statements.length;
    for (const st of v.statements) this.opts.metrics.commands.inc({ result: st.decision.result });
  }

  /** Answers a refused statement in the place the upstream's answer would have come. */
  private deny(v: Verdict): void {
    this.counters.denied++;
    const message =
      v.result === 'approval'
        ? `chaperone: this statement needs approval: ${v.reasons.join('; ') || 'policy requires approval'}`
        : `chaperone: denied by policy: ${v.reasons.join('; ') || 'not allowed'}`;
    this.injections.push({
      afterRfq: this.rfqExpected,
      frames: [encodeErrorResponse({ severity: 'ERROR', code: '42501', message }), encodeReadyForQuery(this.txStatus)],
    });
  }

  private flushInjections(): void {
    const out: Buffer[] = [];
    while (this.injections.length > 0 && this.injections[0]!.afterRfq <= this.rfqSeen) {
      for (const frame of this.injections.shift()!.frames) out.push(this.recordSynthetic(frame));
    }
    if (out.length > 0) this.writeClient(Buffer.concat(out));
  }

  private onServerChunk(chunk: Buffer): void {
    if (this.ended) return;
    const { messages, error } = this.serverReader.push(chunk);
    const out: Buffer[] = [];
    try {
      for (const raw of messages) {
        // Secrets and PII are masked before recording and forwarding: the record holds what
        // the agent saw plus which detector fired where (masking/session.ts).
        const masked = this.ctx.masking?.mask(raw) ?? { frame: raw.frame, notes: [] };
        const m = masked.frame === raw.frame ? raw : { ...raw, frame: masked.frame };
        this.recorder.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: messageName('server', m.code), bytes: m.frame, redacted: false, masks: masked.notes });
        this.counters.framesOut++;
        this.counters.bytesOut += m.frame.length;
        out.push(m.frame);
        if (m.code === Backend.ReadyForQuery) {
          this.rfqSeen++;
          this.txStatus = decodeReadyForQuery(m.payload);
          while (this.injections.length > 0 && this.injections[0]!.afterRfq <= this.rfqSeen)
            for (const frame of this.injections.shift()!.frames) out.push(this.recordSynthetic(frame));
        }
      }
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (out.length > 0) this.writeClient(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (this.recorder.unackedBytes > this.opts.maxInFlightBytes) this.pause('recording');
    if (error) void this.end('upstream-protocol-error', error.message, { severity: 'FATAL', code: '08P01', message: `chaperone: upstream sent invalid data: ${error.message}` });
  }

  private writeClient(buf: Buffer): void {
    if (!this.client.write(buf)) this.pause('client');
  }

  private pause(why: 'recording' | 'client'): void {
    this.pauses.add(why);
    this.upstream.pause();
  }

  private resume(why: 'recording' | 'client'): void {
    if (!this.pauses.delete(why) || this.pauses.size > 0 || this.ended) return;
    this.upstream.resume();
  }

  private record(direction: Direction, m: PgMessage): void {
    this.recorder.append({
      type: 'Frame',
      direction,
      messageType: messageName(direction === 'CLIENT_TO_SERVER' ? 'client' : 'server', m.code, m.payload),
      bytes: m.frame,
      redacted: false,
      masks: [],
    });
  }

  private recordSynthetic(frame: Buffer): Buffer {
    this.recorder.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: messageName('server', frame[0]!), bytes: frame, redacted: false, masks: [] });
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    return frame;
  }

  private recordingNotice(err: RecordingError): PgNotice {
    return {
      severity: 'FATAL',
      code: '58000',
      message: `chaperone: recording is unavailable (${err.message}); the session was ended and nothing unrecorded was forwarded`,
      hint: 'retry shortly; if this persists, the gateway operators should check the Kafka cluster',
    };
  }

  private fail(err: Error): void {
    if (err instanceof RecordingError) void this.end('recording-failed', err.message, this.recordingNotice(err));
    else {
      this.opts.log.error({ err: err.message, stack: err.stack }, 'session failed');
      void this.end('error', err.message, { severity: 'FATAL', code: 'XX000', message: `chaperone: internal error; the session was ended (${err.message})` });
    }
  }

  /** Seals and ends the session once; tells the client why when there is something to tell. */
  async end(reason: string, error = '', notice?: PgNotice): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.upstream.pause();
    if (notice && !this.client.destroyed) this.client.write(encodeErrorResponse(notice));
    if (!this.recorder.failed) {
      const seq = this.recorder.nextSeq;
      const finalHash = this.recorder.headHash;
      try {
        this.recorder.append({
          type: 'SessionEnded',
          reason,
          error,
          counters: this.counters,
          finalHash,
          signature: signSeal(this.opts.nodeKey, this.ctx.sessionId, seq, finalHash),
          sealedBy: this.ctx.nodeId,
          complete: true,
        });
        await this.recorder.flush();
      } catch (err) {
        this.opts.log.warn({ session: this.ctx.sessionId, err: (err as Error).message }, 'could not record the end of the session');
      }
    }
    this.client.end();
    this.upstream.destroy();
    setTimeout(() => this.client.destroy(), 1000).unref();
    this.resolveDone(reason);
  }
}
