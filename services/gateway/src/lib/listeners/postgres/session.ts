import type { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { signSeal, type Direction } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';
import {
  Backend,
  Frontend,
  MessageReader,
  PgProtocolError,
  decodeBind,
  decodeClose,
  decodeFunctionCall,
  decodeParse,
  decodeQuery,
  decodeReadyForQuery,
  encodeErrorResponse,
  encodeNoticeResponse,
  encodeReadyForQuery,
  messageName,
  type PgMessage,
  type PgNotice,
  type TransactionStatus,
} from '../../protocols/postgres/index.js';
import { approvalRefusal, approvedNotice, mergeRequirements, waitingNotice, type ApprovalGate, type HoldOutcome } from '../../approvals/index.js';
import { RecordingError } from '../../errors.js';
import type { SessionRecorder } from '../../recording/index.js';
import { decideFunctionCall, decideSql, paramsForRecord, recordVerdict, type DecisionContext, type Verdict } from './commands.js';
import type { PgMetrics } from './metrics.js';

export interface ProxyOptions {
  nodeKey: KeyObject;
  maxInFlightBytes: number;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  log: Logger;
  metrics: PgMetrics;
  /** Holds statements whose decision is `approval` until approvers answer; without it they are refused. */
  approvals?: ApprovalGate;
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
    /**
     * The readers the handshake and the upstream login used: they may hold the first bytes of
     * a message that arrived in the same packet as the last handshake message.
     */
    readers: { client: MessageReader; server: MessageReader },
  ) {
    this.clientReader = readers.client;
    this.serverReader = readers.server;
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
          const sql = decodeQuery(m.payload);
          const v = this.decide(sql);
          this.execute(v, []);
          if (v.result === 'approval' && this.opts.approvals) {
            // What came before goes first; then this statement (and, the loop being sequential,
            // everything the client sends after it) waits for the approvers.
            await this.forward(out.splice(0));
            if (await this.awaitApproval(v, sql)) {
              out.push(m.frame);
              this.rfqExpected++;
            }
          } else if (v.result !== 'allow') this.deny(v);
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
        case Frontend.FunctionCall: {
          const fc = decodeFunctionCall(m.payload);
          const v = decideFunctionCall(fc.oid, fc.args.length, this.ctx);
          this.execute(v, paramsForRecord(fc.args, fc.argFormats));
          if (v.result !== 'allow') this.deny(v);
          else {
            out.push(m.frame);
            this.rfqExpected++;
          }
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

  /** Records, then writes what the client sent so far (record-before-forward), then due injections. */
  private async forward(out: Buffer[]): Promise<void> {
    await this.recorder.flush();
    if (out.length > 0 && !this.ended) this.upstream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.flushInjections();
  }

  /** Sends a NOTICE to the client after the answers to what was forwarded before it. */
  private notice(message: string): void {
    this.injections.push({ afterRfq: this.rfqExpected, frames: [encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message })] });
    this.flushInjections();
  }

  /**
   * Holds a statement the policy sent to approval (DESIGN.md "Approvals are bound"): records
   * ApprovalRequested, tells the agent what it waits for, waits for the approval workflow and
   * records ApprovalResolved (acknowledged before anything is forwarded). True: forward it;
   * otherwise it has been answered with an error (or the session ended while waiting).
   */
  private async awaitApproval(v: Verdict, sql: string): Promise<boolean> {
    const idx = v.statements.findIndex((st) => st.decision.result === 'approval');
    const commandId = this.commandSeq - v.statements.length + 1 + Math.max(0, idx);
    const requirement = mergeRequirements(v.statements.map((st) => st.decision));
    if (!requirement) {
      this.deny(v, `chaperone: this statement needs approval, but no approver group may approve all of its statements (${v.reasons.join('; ')}); send them one at a time`);
      return false;
    }
    const ended = new AbortController();
    void this.done.then(() => ended.abort());
    // Reading on while held lets a client that goes away end the session (and the wait); what
    // it sends is queued behind this statement.
    this.client.resume();
    const out: HoldOutcome = await this.opts.approvals!.hold(
      { sessionId: this.ctx.sessionId, commandId, subject: this.ctx.identity.subject, connection: this.ctx.connection.name, commandText: sql, requirement, reasons: v.reasons },
      {
        signal: ended.signal,
        onTicket: async (t) => {
          const r = t.request;
          this.recorder.append({ type: 'ApprovalRequested', commandId, approvalId: t.approvalId, bindingSha256: t.bindingSha256, approverGroups: r.approverGroups, quorum: r.quorum, ttlMs: r.ttlMs });
          if (!t.reused) this.notice(waitingNotice(t, v.reasons));
          // Durable before the wait: a node that dies while holding still leaves the request on record.
          await this.recorder.flush();
        },
      },
    );
    if (out.outcome === 'ABANDONED' || this.ended) return false;
    if (out.outcome !== 'PENDING' && out.outcome !== 'UNAVAILABLE')
      this.recorder.append({ type: 'ApprovalResolved', commandId, approvalId: out.approvalId, outcome: out.outcome, approvers: out.approvers, reason: out.reason });
    const approved = out.outcome === 'APPROVED' || out.outcome === 'REUSED';
    if (approved) this.notice(approvedNotice(out));
    else this.deny(v, approvalRefusal(out));
    await this.recorder.flush();
    return approved;
  }

  /** Answers a refused statement in the place the upstream's answer would have come. */
  private deny(v: Verdict, why?: string): void {
    this.counters.denied++;
    const message =
      why ??
      (v.result === 'approval'
        ? `chaperone: this statement needs approval: ${v.reasons.join('; ') || 'policy requires approval'}`
        : `chaperone: denied by policy: ${v.reasons.join('; ') || 'not allowed'}`);
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
    else if (err instanceof PgProtocolError) {
      // A malformed message from either peer ends this one session: it is input, not a bug.
      this.opts.log.info({ session: this.ctx.sessionId, code: err.code, err: err.message }, 'protocol error');
      void this.end('protocol-error', err.message, { severity: 'FATAL', code: err.sqlState, message: `chaperone: ${err.message}` });
    } else {
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

