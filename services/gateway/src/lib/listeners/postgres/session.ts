import type { KeyObject } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { signSeal, singleFrame } from '@chaperone/events';
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
import type { ApprovalGate } from '../../approvals/index.js';
import { RecordingError } from '../../errors.js';
import { FrameBuilder, joinBuffers, type SessionRecorder } from '../../recording/index.js';
import { ClientRecord } from './client-record.js';
import { decideFunctionCall, decideSql, paramsForRecord, recordVerdict, type DecisionContext, type Verdict } from './commands.js';
import type { PgMetrics } from './metrics.js';
import { AnswerQueue, READY_FOR_QUERY_NOW, type Injection } from './answers.js';
import { ApprovalWaits, approvalCommandIds, type HeldExecution, type WaitResult } from './approval-wait.js';
import { ExtendedBatch } from './batch.js';
import { ABORT_FRAME_TYPE, TransactionAborts } from './tx-abort.js';
import { ResultOwners } from './result-owners.js';

/** The first and last id of the Commands one execution recorded (`last` < `first`: none, an empty query). */
type CommandRange = readonly [first: number, last: number];

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

/** A held batch growing past this many maximum-size messages is settled without waiting for its end (bounded memory). */
const HELD_BATCH_MESSAGES = 4;
/** Describe's target byte: 'P' a portal (an execution), 'S' a prepared statement. */
const PORTAL = 0x50;

/**
 * The proxy phase of one PostgreSQL session. Client messages are recorded (Frame, Command,
 * Decision) and forwarded only after the event log acknowledged them; denied statements get
 * an ErrorResponse in the place the upstream's answer would have had. Upstream messages are
 * recorded and forwarded at once, with upstream reads paused while too many recorded bytes
 * await acknowledgement (services/README.md "Record-before-forward").
 */
export class PgProxySession {
  private readonly clientReader: MessageReader;
  private readonly serverReader: MessageReader;
  private clientQueue: Promise<void> = Promise.resolve();
  private commandSeq = 0;
  /** Prepared statements by name ('' = unnamed): the decision taken at Parse and the SQL an approval binds. */
  private readonly prepared = new Map<string, { verdict: Verdict; sql: string }>();
  private readonly answers = new AnswerQueue();
  /** Which command each upstream message answers, so frames carry their commands (events v3). */
  private readonly owners = new ResultOwners();
  /** Refused statements failing their transaction upstream too (tx-abort.ts). */
  private readonly aborts = new TransactionAborts();
  private txStatus: TransactionStatus = 'I';
  private readonly batch: ExtendedBatch;
  private readonly waits: ApprovalWaits | undefined;
  private readonly pauses = new Set<'recording' | 'client'>();
  /** What one write to the client holds, recorded as one Frame. */
  private readonly toClient = new FrameBuilder('SERVER_TO_CLIENT');
  /** What the client sent, recorded (as a Frame naming its commands, then those commands) before it goes upstream. */
  private readonly fromClient: ClientRecord;
  /** The first command of the extended execution whose Bind came last in this batch: its Describe and Execute carry it. */
  private execution = 0;
  private terminating = false;
  private ended = false;
  /** Set by {@link endWhenIdle}: the session ends once nothing is in flight. */
  private closing: { reason: string; error: string; notice: PgNotice } | undefined;
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
    this.fromClient = new ClientRecord(this.counters);
    this.batch = new ExtendedBatch(this.answers, HELD_BATCH_MESSAGES * opts.maxMessageBytes);
    if (opts.approvals) this.waits = new ApprovalWaits(opts.approvals, recorder, ctx, (message) => this.notice(message), opts.log);
  }

  /**
   * A CancelRequest for this session: ends a wait for approval (57014, the statement is not
   * run). True when a statement was waiting; a running one is cancelled by the upstream.
   */
  cancelHeld(): boolean {
    return this.waits?.cancel() ?? false;
  }

  /**
   * Ends the session as soon as no statement is in flight: now, or at the ReadyForQuery that
   * answers the last one (its result reaches the client first). Statements sent meanwhile are
   * not run. Used when the session's token expires.
   */
  endWhenIdle(reason: string, error: string, notice: PgNotice): void {
    this.closing = { reason, error, notice };
    if (this.answers.settled && !this.batch.held) void this.end(reason, error, notice);
  }

  private endIfClosing(): boolean {
    if (!this.closing) return false;
    void this.end(this.closing.reason, this.closing.error, this.closing.notice);
    return true;
  }

  /** Starts relaying; `pendingClient` are messages the client already sent during the handshake. */
  start(pendingClient: PgMessage[]): void {
    this.recorder.on('failed', (err: RecordingError) => void this.end('recording-failed', err.message, this.recordingNotice(err)));
    this.recorder.on('drain', () => {
      if (this.recorder.unackedBytes <= this.opts.maxInFlightBytes) this.resume('recording');
    });
    this.client.on('data', (chunk: Buffer) => this.onClientChunk(chunk));
    this.client.on('close', () => void this.end(this.terminating ? 'client-terminate' : 'client-closed'));
    this.client.on('error', (e) => this.opts.log.debug({ err: e }, 'client socket error'));
    this.client.on('drain', () => this.resume('client'));
    this.upstream.on('data', (chunk: Buffer) => this.onServerChunk(chunk));
    this.upstream.on('close', () => void this.end(this.terminating ? 'client-terminate' : 'upstream-closed'));
    this.upstream.on('error', (e) => this.opts.log.warn({ err: e }, 'upstream socket error'));
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
    if (this.ended || this.endIfClosing()) return;
    this.fromClient.start(messages);
    const out: Buffer[] = [];
    for (const m of messages) {
      // A wait for approval may have outlived the session.
      if (this.ended) return;
      // A simple Query or a FunctionCall ends an extended batch as a Sync would.
      if (this.batch.held && (m.code === Frontend.Query || m.code === Frontend.FunctionCall)) await this.settleHeld(out, undefined);
      if (this.ended) return;
      if (this.batch.isDiscarding) this.onDiscarded(m, out);
      else await this.onMessage(m, out);
      if (this.batch.overfull) await this.settleHeld(out, undefined);
    }
    this.recordClient();
    const t0 = process.hrtime.bigint();
    await this.recorder.flush();
    this.opts.metrics.recordWait.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    if (out.length > 0 && !this.ended) this.upstream.write(joinBuffers(out));
    this.flushInjections();
  }

  /**
   * One client message, by kind (one handler each). Each handler adds the message to the record
   * once its commands have ids, and before anything of it can go upstream.
   */
  private onMessage(m: PgMessage, out: Buffer[]): Promise<void> | void {
    switch (m.code) {
      case Frontend.Query:
        return this.onQuery(m, out);
      case Frontend.Parse:
        return this.onParse(m, out);
      case Frontend.Bind:
        return this.onBind(m, out);
      case Frontend.Describe:
        // A portal's Describe belongs to its execution; a prepared statement's to none.
        return this.passInBatch(m, out, m.payload[0] === PORTAL ? this.execution : 0);
      case Frontend.Execute:
        return this.passInBatch(m, out, this.execution);
      case Frontend.Close:
        return this.onClose(m, out);
      case Frontend.FunctionCall:
        return this.onFunctionCall(m, out);
      case Frontend.Sync:
      case Frontend.Flush:
        return this.onBatchEnd(m, out);
      case Frontend.Terminate:
        return this.onTerminate(m, out);
      default:
        return this.passInBatch(m, out, 0);
    }
  }

  /** A message of a refused batch, up to its Sync: not run (as PostgreSQL ignores it after an error). */
  private onDiscarded(m: PgMessage, out: Buffer[]): void {
    this.fromClient.add(m);
    if (m.code === Frontend.Sync) this.batch.endDiscarding(m, out);
  }

  /** A message of the extended batch that only goes along (held or on its way upstream), carrying `commandId`. */
  private passInBatch(m: PgMessage, out: Buffer[], commandId: number): void {
    this.fromClient.add(m, commandId);
    this.batch.pass(m.frame, out);
  }

  private async onQuery(m: PgMessage, out: Buffer[]): Promise<void> {
    const sql = decodeQuery(m.payload);
    const verdict = this.decide(sql);
    const ids = this.recordExecution(verdict, []);
    this.fromClient.add(m, ids[0], ids[1]);
    if (verdict.result === 'allow') this.forwardSegment(m.frame, out, ids);
    else if (verdict.result === 'approval' && this.waits) {
      // What came before goes first; then this statement (and, the loop being sequential,
      // everything the client sends after it) waits for the approvers.
      await this.forward(out.splice(0));
      const r = await this.awaitApproval({ verdict, sql, commandIds: approvalCommandIds(verdict, ids[0]) });
      if (r.run) this.forwardSegment(m.frame, out, ids);
      else if (r.error) this.answerRefused(r.error, out, ids);
    } else this.answerRefused(this.denial(verdict), out, ids);
  }

  /**
   * A statement prepared: its decision is taken now, once, and recorded only when it refuses
   * (then with the rest of the batch); an allowed one's Commands are recorded at each Bind.
   */
  private onParse(m: PgMessage, out: Buffer[]): void {
    const parse = decodeParse(m.payload);
    const verdict = this.decide(parse.sql);
    this.execution = 0;
    if (verdict.result === 'allow' || (verdict.result === 'approval' && this.waits)) {
      this.fromClient.add(m);
      this.prepared.set(parse.name, { verdict, sql: parse.sql });
      // Parse analysis takes the statement's table locks until the implicit transaction
      // ends: a statement awaiting approval is not even parsed upstream before then.
      if (verdict.result === 'approval') this.batch.hold();
      this.batch.pass(m.frame, out);
      return;
    }
    const ids = this.recordExecution(verdict, []);
    this.fromClient.add(m, ids[0], ids[1]);
    if (parse.name === '') this.prepared.delete('');
    this.refuseRestOfBatch(this.denial(verdict), out, ids);
  }

  /** One execution of a prepared statement: its Command carries the bound values. */
  private onBind(m: PgMessage, out: Buffer[]): void {
    const bind = decodeBind(m.payload);
    const statement = this.prepared.get(bind.statement);
    this.execution = 0;
    if (!statement) return this.passInBatch(m, out, 0);
    const ids = this.recordExecution(statement.verdict, paramsForRecord(bind.params, bind.paramFormats));
    if (ids[1] >= ids[0]) this.execution = ids[0];
    this.fromClient.add(m, ids[0], ids[1]);
    // Held or not, it goes upstream before this batch's Sync (a refused held batch withdraws it).
    this.owners.forwarded(ids[0], ids[1], this.answers.owed);
    if (statement.verdict.result === 'approval') {
      this.batch.hold().executions.push({ verdict: statement.verdict, sql: statement.sql, commandIds: approvalCommandIds(statement.verdict, ids[0]) });
    }
    this.batch.pass(m.frame, out);
  }

  private onClose(m: PgMessage, out: Buffer[]): void {
    const close = decodeClose(m.payload);
    if (close.kind === 'S') this.prepared.delete(close.name);
    this.passInBatch(m, out, 0);
  }

  /** A fastpath function call, decided as its own action (commands.ts decideFunctionCall). */
  private onFunctionCall(m: PgMessage, out: Buffer[]): void {
    const call = decodeFunctionCall(m.payload);
    const verdict = decideFunctionCall(call.oid, call.args.length, this.ctx);
    const ids = this.recordExecution(verdict, paramsForRecord(call.args, call.argFormats));
    this.fromClient.add(m, ids[0], ids[1]);
    if (verdict.result !== 'allow') this.answerRefused(this.denial(verdict), out, ids);
    else this.forwardSegment(m.frame, out, ids);
  }

  /** A Sync (the end of the extended batch) or a Flush: a held batch is settled there. */
  private async onBatchEnd(m: PgMessage, out: Buffer[]): Promise<void> {
    this.fromClient.add(m);
    if (m.code === Frontend.Sync) this.execution = 0;
    if (this.batch.held) await this.settleHeld(out, m);
    else this.batch.passEnd(m, out);
  }

  private onTerminate(m: PgMessage, out: Buffer[]): void {
    this.fromClient.add(m);
    if (this.batch.held) this.batch.release();
    this.terminating = true;
    out.push(m.frame);
  }

  /** A Query or FunctionCall going upstream: one segment, answered by one ReadyForQuery. */
  private forwardSegment(frame: Buffer, out: Buffer[], ids: CommandRange): void {
    this.owners.forwarded(ids[0], ids[1], this.answers.forwarded());
    out.push(frame);
  }

  /**
   * The end (Sync, Flush, or a simple Query) of an extended batch that holds executions the
   * policy sent to approval: waits for each statement's approval, then forwards the whole
   * batch, or refuses it (error, rest of the batch discarded up to its Sync). A batch that only
   * prepares such a statement (Parse/Describe, no Bind) goes on at once: it runs nothing.
   */
  private async settleHeld(out: Buffer[], end: PgMessage | undefined): Promise<void> {
    const held = this.batch.release();
    let refusal: PgNotice | undefined;
    let refused: CommandRange = [0, 0];
    if (held.executions.length > 0) {
      await this.forward(out.splice(0));
      const asked = new Set<string>();
      for (const execution of held.executions) {
        if (asked.has(execution.sql)) continue;
        asked.add(execution.sql);
        const answer = await this.awaitApproval(execution);
        if (answer.run) continue;
        if (!answer.error) return; // the session ended while waiting
        refusal = answer.error;
        refused = [execution.commandIds[0]!, execution.commandIds.at(-1)!];
        break;
      }
    }
    if (!refusal) {
      for (const f of held.frames) this.batch.pass(f, out);
      if (end) this.batch.passEnd(end, out);
      return;
    }
    this.counters.denied++;
    this.refuseRestOfBatch(refusal, out, refused);
    if (end?.code === Frontend.Sync) this.batch.endDiscarding(end, out);
  }

  private awaitApproval(execution: HeldExecution): Promise<WaitResult> {
    // Reading on while held lets a client that goes away end the session (and the wait); what
    // it sends is queued behind the held statement.
    this.client.resume();
    return this.waits!.wait(execution);
  }

  private decide(sql: string): Verdict {
    return decideSql(sql, this.ctx);
  }

  /**
   * Records one execution of a decided SQL string as Command + Decision events, behind the frame
   * of the client message that holds it; returns the ids of its Commands.
   */
  private recordExecution(v: Verdict, params: (string | null)[]): CommandRange {
    const first = this.commandSeq + 1;
    recordVerdict(v, this.fromClient, () => ++this.commandSeq, params);
    this.counters.commands += v.statements.length;
    for (const st of v.statements) this.opts.metrics.commands.inc({ result: st.decision.result });
    return [first, this.commandSeq];
  }

  /** Appends what the client sent so far and the commands decided from it (after the end, `end()` did). */
  private recordClient(): void {
    if (!this.ended) this.fromClient.record(this.recorder);
  }

  /** Records, then writes what the client sent so far (record-before-forward), then due injections. */
  private async forward(out: Buffer[]): Promise<void> {
    this.recordClient();
    await this.recorder.flush();
    if (out.length > 0 && !this.ended) this.upstream.write(joinBuffers(out));
    this.flushInjections();
  }

  /** Sends a NOTICE to the client after the answers to what was forwarded before it. */
  private notice(message: string): void {
    this.answers.after([encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message })]);
    this.flushInjections();
  }

  private denial(v: Verdict): PgNotice {
    const message =
      v.result === 'approval'
        ? `chaperone: this statement needs approval: ${v.reasons.join('; ') || 'policy requires approval'}`
        : `chaperone: denied by policy: ${v.reasons.join('; ') || 'not allowed'}`;
    return { severity: 'ERROR', code: '42501', message };
  }

  /**
   * Answers a refused simple Query or FunctionCall in the place the upstream's answer would have
   * come. Inside a transaction block the refusal also fails the transaction upstream, as an
   * error would (tx-abort.ts); outside one nothing goes upstream.
   */
  private answerRefused(error: PgNotice, out: Buffer[], ids: CommandRange): void {
    this.counters.denied++;
    if (!this.mayBeInTransaction()) return this.answers.after([encodeErrorResponse(error), READY_FOR_QUERY_NOW], ids[0]);
    this.forwardAbort('simple', error, out);
    this.owners.forwarded(ids[0], ids[1], this.answers.forwarded());
  }

  /**
   * Refuses the rest of the current extended batch. When part of the batch already went
   * upstream, or a transaction block is open, the upstream fails there too, so the batch's
   * implicit transaction rolls back (or the block is aborted) as PostgreSQL would do on an error.
   */
  private refuseRestOfBatch(error: PgNotice, out: Buffer[], ids: CommandRange): void {
    if (!this.batch.partForwarded && !this.mayBeInTransaction()) {
      // Nothing of this batch goes upstream: its executions get no upstream answer.
      this.owners.withdraw(this.answers.owed);
      return this.batch.refuseRest(error, ids[0]);
    }
    this.forwardAbort('extended', error, out);
    // The upstream's error for the gateway's failing statement is the refused command's answer.
    this.owners.forwarded(ids[0], ids[1], this.answers.owed);
    this.batch.discardAfterAbort();
  }

  /**
   * Whether a transaction block may be open where the refused statement stands: the upstream said
   * so, or answers are still outstanding (a pipelined `BEGIN` the upstream has not answered yet).
   * Aborting when no block turns out to be open costs one upstream round trip and changes nothing.
   */
  private mayBeInTransaction(): boolean {
    return this.txStatus === 'T' || !this.answers.settled;
  }

  /** The gateway's own failing statement, recorded (under its own frame type) before it goes upstream with `out`. */
  private forwardAbort(protocol: 'simple' | 'extended', refusal: PgNotice, out: Buffer[]): void {
    for (const frame of this.aborts.frames(protocol, refusal)) {
      this.fromClient.append(singleFrame('CLIENT_TO_SERVER', ABORT_FRAME_TYPE, frame));
      out.push(frame);
    }
  }

  /** Adds frames of the gateway's own (answering `commandId`, or 0) to what the client reads next. */
  private inject(i: Injection): void {
    for (const f of i.frames) {
      const frame = f === READY_FOR_QUERY_NOW ? encodeReadyForQuery(this.txStatus) : f;
      this.toClient.add(messageName('server', frame[0]!), frame, undefined, i.commandId);
    }
  }

  private flushInjections(): void {
    for (const i of this.answers.due()) this.inject(i);
    this.sendToClient();
  }

  private onServerChunk(chunk: Buffer): void {
    if (this.ended) return;
    const { messages, error } = this.serverReader.push(chunk);
    try {
      for (let raw of messages) {
        if (this.aborts.waiting && raw.code === Backend.ErrorResponse) {
          // The error of the gateway's own failing statement: the client reads the refusal.
          const frame = this.aborts.replacement(raw.payload);
          if (frame) raw = { ...raw, frame, payload: frame.subarray(5) };
        }
        // Secrets and PII are masked before recording and forwarding: the record holds what
        // the agent saw plus which detector fired where (masking/session.ts).
        const masked = this.ctx.masking?.mask(raw);
        const frame = masked ? masked.frame : raw.frame;
        const ready = raw.code === Backend.ReadyForQuery;
        const owner = this.owners.owner(raw.code, this.answers.seen);
        if (ready) for (const i of this.answers.onReady()) this.inject(i);
        this.toClient.add(messageName('server', raw.code), frame, masked?.notes, owner);
        if (ready) {
          this.txStatus = decodeReadyForQuery(raw.payload);
          if (this.answers.seen === this.answers.owed && !this.batch.partForwarded) this.aborts.settle();
          for (const i of this.answers.due()) this.inject(i);
        }
      }
      this.sendToClient();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (this.closing && this.answers.settled && !this.batch.held) return void this.endIfClosing();
    if (this.recorder.unackedBytes > this.opts.maxInFlightBytes) this.pause('recording');
    if (error) void this.end('upstream-protocol-error', error.message, { severity: 'FATAL', code: '08P01', message: `chaperone: upstream sent invalid data: ${error.message}` });
  }

  /** Records what the client is about to read as one Frame, then writes it in one write. */
  private sendToClient(): void {
    const n = this.toClient.messages;
    const taken = this.toClient.take();
    if (!taken) return;
    this.recorder.append(taken.frame);
    this.counters.framesOut += n;
    this.counters.bytesOut += taken.bytes.length;
    if (!this.client.write(taken.bytes)) this.pause('client');
  }

  private pause(why: 'recording' | 'client'): void {
    this.pauses.add(why);
    this.upstream.pause();
  }

  private resume(why: 'recording' | 'client'): void {
    if (!this.pauses.delete(why) || this.pauses.size > 0 || this.ended) return;
    this.upstream.resume();
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
      this.opts.log.info({ session: this.ctx.sessionId, code: err.code, err }, 'protocol error');
      void this.end('protocol-error', err.message, { severity: 'FATAL', code: err.sqlState, message: `chaperone: ${err.message}` });
    } else {
      this.opts.log.error({ err }, 'session failed');
      void this.end('error', err.message, { severity: 'FATAL', code: 'XX000', message: `chaperone: internal error; the session was ended (${err.message})` });
    }
  }

  get sessionId(): string {
    return this.ctx.sessionId;
  }

  /** Seals and ends the session once; tells the client why when there is something to tell. */
  async end(reason: string, error = '', notice?: PgNotice): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.waits?.abortAll();
    this.upstream.pause();
    if (notice && !this.client.destroyed) this.client.write(encodeErrorResponse(notice));
    if (!this.recorder.failed) {
      try {
        // What the client sent and the session did not get to decide is recorded too.
        this.fromClient.recordRest(this.recorder);
        const seq = this.recorder.nextSeq;
        const finalHash = this.recorder.headHash;
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
        this.opts.log.warn({ session: this.ctx.sessionId, err }, 'could not record the end of the session');
      }
    }
    this.client.end();
    this.upstream.destroy();
    setTimeout(() => this.client.destroy(), 1000).unref();
    this.resolveDone(reason);
  }
}

