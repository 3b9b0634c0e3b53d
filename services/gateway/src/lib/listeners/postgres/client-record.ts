import type { EventBody } from '@chaperone/events';
import { messageName, type PgMessage } from '../../protocols/postgres/index.js';
import { FrameBuilder, type SessionRecorder } from '../../recording/index.js';

/** Where events decided from client messages go: appended after the Frame that holds those messages. */
export interface EventAppender {
  append(body: EventBody): unknown;
}

/**
 * What the gateway records of the client's messages before any of them goes upstream: one Frame
 * of the messages taken so far, each naming the commands it carries (events v3), followed by the
 * events decided from them (Command, Decision, the gateway's own failing statement). A message is
 * added once its commands have ids, so the frame can carry them; `record()` appends the frame and
 * then those events together, before every flush that precedes a write upstream
 * (record-before-forward), so a Command's `seq` still follows the frame that held it and they
 * ride in one publish.
 *
 * A chunk is usually one frame. It is cut where the session waits (for approvers): what came
 * before is recorded and forwarded first; the rest is recorded once decided after the wait, or,
 * if the session ends meanwhile, by `recordRest()` without commands.
 */
export class ClientRecord implements EventAppender {
  private readonly frame = new FrameBuilder('CLIENT_TO_SERVER');
  private readonly events: EventBody[] = [];
  private chunk: readonly PgMessage[] = [];
  /** Index in `chunk` of the next message to add. */
  private next = 0;

  /** `counters` counts the messages and bytes recorded (the session's framesIn, bytesIn). */
  constructor(private readonly counters: { framesIn: number; bytesIn: number }) {}

  /** The client's next chunk: its messages are added in order, each once. */
  start(chunk: readonly PgMessage[]): void {
    this.chunk = chunk;
    this.next = 0;
  }

  /** Adds the chunk's next message, `m`, carrying commands `first`…`last` (0, or `last` < `first`: none). */
  add(m: PgMessage, first = 0, last = first): void {
    this.next++;
    this.frame.add(messageName('client', m.code, m.payload), m.frame, undefined, last < first ? 0 : first, last);
  }

  /** An event recorded after the frame of the messages added so far. */
  append(body: EventBody): void {
    this.events.push(body);
  }

  /** Appends the frame (if any message was added) and then the events queued behind it. */
  record(recorder: SessionRecorder): void {
    const n = this.frame.messages;
    const taken = this.frame.take();
    if (taken) {
      this.counters.framesIn += n;
      this.counters.bytesIn += taken.bytes.length;
      recorder.append(taken.frame);
    }
    for (let i = 0; i < this.events.length; i++) recorder.append(this.events[i]!);
    this.events.length = 0;
  }

  /** Adds what is left of the chunk, of no command (the session ended before it was decided). */
  recordRest(recorder: SessionRecorder): void {
    while (this.next < this.chunk.length) this.add(this.chunk[this.next]!);
    this.record(recorder);
  }
}
