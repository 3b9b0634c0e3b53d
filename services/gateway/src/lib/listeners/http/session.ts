import type { KeyObject } from 'node:crypto';
import { signSeal, type EventBody } from '@chaperone/events';
import type { AgentIdentity } from '@chaperone/identity';
import type { Logger } from '@chaperone/observability';
import type { SessionRecorder } from '../../recording/index.js';
import type { HttpMetrics } from './metrics.js';
import type { HttpConnection } from './types.js';

export interface HttpSessionInfo {
  sessionId: string;
  nodeId: string;
  clientAddress: string;
  identity: AgentIdentity;
  connection: HttpConnection;
}

/**
 * One recorded HTTP session: one client TCP connection talking to one configured connection as
 * one identity (keep-alive requests share it). Every exchange appends to the same hash chain;
 * the session is sealed when the client connection closes.
 */
export class HttpSession {
  readonly counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, commands: 0, denied: 0 };
  private commandSeq = 0;
  private ended = false;
  /** Exchanges in progress; the seal waits for them so SessionEnded is the last event. */
  private readonly open = new Set<Promise<unknown>>();
  /** What the agent is told once an administrator ended the session. */
  private adminNotice: string | undefined;
  /** How to answer each request under way when an administrator ends the session. */
  private readonly answering = new Set<(notice: string) => void>();

  constructor(
    readonly info: HttpSessionInfo,
    readonly recorder: SessionRecorder,
    private readonly opts: { nodeKey: KeyObject; log: Logger; metrics: HttpMetrics },
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Set once an administrator ended the session: the one line its agent is told (issue #16). */
  get endedByAdmin(): string | undefined {
    return this.adminNotice;
  }

  /** Registers how to answer a request under way if an administrator ends the session; returns its removal. */
  onAdminEnd(answer: (notice: string) => void): () => void {
    this.answering.add(answer);
    return () => void this.answering.delete(answer);
  }

  /** An administrator ended the session: every request under way is answered with `notice`, later ones are refused with it. */
  endByAdmin(notice: string): void {
    if (this.adminNotice !== undefined) return;
    this.adminNotice = notice;
    for (const answer of [...this.answering]) answer(notice);
    this.answering.clear();
  }

  nextCommandId(): number {
    return ++this.commandSeq;
  }

  /**
   * The id the next Command will get: a request's frames are recorded before its Command and
   * carry this id (events v3). Valid only until the next await: the caller records the Command
   * in the same synchronous run (HTTP/2 streams of one session run concurrently).
   */
  peekCommandId(): number {
    return this.commandSeq + 1;
  }

  /** Appends unless the session is already sealed (late upstream bytes after a close). */
  append(body: EventBody): void {
    if (this.ended || this.recorder.failed) return;
    if (body.type === 'Frame') {
      if (body.direction === 'CLIENT_TO_SERVER') {
        this.counters.framesIn++;
        this.counters.bytesIn += body.bytes.length;
      } else {
        this.counters.framesOut++;
        this.counters.bytesOut += body.bytes.length;
      }
    }
    this.recorder.append(body);
  }

  /** Tracks an exchange so `end` can wait for it (bounded by the caller's own timeouts). */
  track<T>(p: Promise<T>): Promise<T> {
    this.open.add(p);
    const done = (): void => void this.open.delete(p);
    p.then(done, done);
    return p;
  }

  /** Seals the session once: SessionEnded with the node's signature over the final hash. */
  async end(reason: string, error = '', graceMs = 5000): Promise<void> {
    if (this.ended) return;
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.open]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    if (this.ended) return;
    this.ended = true;
    const { recorder } = this;
    if (recorder.failed) return;
    const seq = recorder.nextSeq;
    const finalHash = recorder.headHash;
    try {
      recorder.append({
        type: 'SessionEnded',
        reason,
        error,
        counters: this.counters,
        finalHash,
        signature: signSeal(this.opts.nodeKey, this.info.sessionId, seq, finalHash),
        sealedBy: this.info.nodeId,
        complete: true,
      });
      await recorder.flush();
    } catch (err) {
      this.opts.log.warn({ session: this.info.sessionId, err }, 'could not record the end of the session');
    }
  }
}
