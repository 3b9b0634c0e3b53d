import { createHash } from 'node:crypto';
import { frameMessages, type ChainedEvent, type EventBody } from '@chaperone/events';
import type { EventSink } from '../../../recording/index.js';

interface SessionState {
  nextSeq: number;
  ended: boolean;
  endReason: string;
  /** application_name from SessionStarted, to say which test connection a session was. */
  app: string;
}

const digest = (b: Buffer): string => createHash('sha1').update(b).digest('base64');

/**
 * An event log that acknowledges at once and keeps only what the tests check, never the
 * event bytes (a fuzz run publishes hundreds of thousands of frames and the heap is measured):
 * counters, each session's next sequence number and end, and a multiset of digests of client
 * frames recorded but not yet seen upstream (record-before-forward).
 */
export class MemorySink implements EventSink {
  readonly healthy = true;
  readonly counts = { events: 0, clientFrames: 0, serverFrames: 0, commands: 0, started: 0, ended: 0 };
  readonly endReasons = new Map<string, number>();
  /** Sequence gaps, events after SessionEnded, events of unknown sessions: must stay empty. */
  readonly violations: string[] = [];
  private readonly sessions = new Map<string, SessionState>();
  private readonly recordedClientFrames = new Map<string, number>();
  private readonly byApp = new Map<string, [number, number]>();
  /** Every event body, by session, when asked for (tests that read the record; never the fuzz suite). */
  readonly kept: Map<string, EventBody[]> | undefined;

  constructor(opts: { keepEvents?: boolean } = {}) {
    if (opts.keepEvents) this.kept = new Map();
  }

  /** [client, server] frames recorded for sessions whose application_name is `app` or `app-<n>`. */
  framesOf(app: string): [number, number] {
    const key = app.replace(/-\d+$/, '');
    let c = this.byApp.get(key);
    if (!c) this.byApp.set(key, (c = [0, 0]));
    return c;
  }

  publish(sessionId: string, events: ChainedEvent[]): Promise<void> {
    for (const { event } of events) {
      this.counts.events++;
      let s = this.sessions.get(sessionId);
      if (!s) {
        s = { nextSeq: 0, ended: false, endReason: '', app: '?' };
        this.sessions.set(sessionId, s);
      }
      if (event.sessionId !== sessionId) this.violation(`event of ${event.sessionId} published under ${sessionId}`);
      if (event.seq !== s.nextSeq) this.violation(`session ${sessionId}: seq ${event.seq}, expected ${s.nextSeq}`);
      if (s.ended) this.violation(`session ${sessionId}: ${event.body.type} after SessionEnded`);
      s.nextSeq = event.seq + 1;
      const body = event.body;
      if (this.kept) this.kept.set(sessionId, [...(this.kept.get(sessionId) ?? []), body]);
      switch (body.type) {
        case 'SessionStarted':
          this.counts.started++;
          if (event.seq !== 0) this.violation(`session ${sessionId}: SessionStarted at seq ${event.seq}`);
          s.app = (JSON.parse(body.attributesJson) as { application_name?: string }).application_name ?? '';
          break;
        case 'Frame': {
          // Counted per protocol message: a Frame holds every message of one chunk or write.
          const messages = frameMessages(body);
          this.framesOf(s.app)[body.direction === 'CLIENT_TO_SERVER' ? 0 : 1] += messages.length;
          if (body.direction === 'CLIENT_TO_SERVER') {
            this.counts.clientFrames += messages.length;
            for (const m of messages) {
              const d = digest(body.bytes.subarray(m.start, m.end));
              this.recordedClientFrames.set(d, (this.recordedClientFrames.get(d) ?? 0) + 1);
            }
          } else this.counts.serverFrames += messages.length;
          break;
        }
        case 'Command':
          this.counts.commands++;
          break;
        case 'SessionEnded':
          s.ended = true;
          s.endReason = body.reason;
          this.counts.ended++;
          this.endReasons.set(body.reason, (this.endReasons.get(body.reason) ?? 0) + 1);
          break;
        default:
      }
    }
    return Promise.resolve();
  }

  /**
   * Takes one recorded copy of a client frame the upstream received; false when the frame
   * reached the upstream without having been acknowledged by the log first.
   */
  takeRecordedClientFrame(frame: Buffer): boolean {
    const d = digest(frame);
    const n = this.recordedClientFrames.get(d) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.recordedClientFrames.delete(d);
    else this.recordedClientFrames.set(d, n - 1);
    return true;
  }

  /** Sessions that published events but no SessionEnded yet, as `id (application_name)`. */
  openSessions(): string[] {
    return [...this.sessions].filter(([, s]) => !s.ended).map(([id, s]) => `${id} (${s.app})`);
  }

  /** Recorded client frames the upstream never received (sessions ended mid-batch, Terminate…). */
  get unforwardedClientFrames(): number {
    let n = 0;
    for (const c of this.recordedClientFrames.values()) n += c;
    return n;
  }

  private violation(what: string): void {
    if (this.violations.length < 50) this.violations.push(what);
  }
}
