import type { Direction, Frame, MaskNote } from '@chaperone/events';

/**
 * Buffers as one: a subarray when they lie back to back in one ArrayBuffer (messages a reader
 * cut out of one socket chunk), a copy otherwise.
 */
export function joinBuffers(parts: readonly Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 0) return Buffer.alloc(0);
  const first = parts[0]!;
  let end = first.byteOffset + first.length;
  let contiguous = true;
  for (let i = 1; i < parts.length && contiguous; i++) {
    const p = parts[i]!;
    contiguous = p.buffer === first.buffer && p.byteOffset === end;
    end += p.length;
  }
  return contiguous ? Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset) : Buffer.concat(parts);
}

/**
 * Collects the protocol messages of one write, in order, and makes them one Frame event (services/README.md
 * "Events": a Frame is the bytes forwarded in one write, with the message types and offsets inside
 * it). Masking notes of one detector and location are summed, so a column masked in every row of
 * a chunk is one note. Each message may name the command it belongs to; the frame carries those as
 * runs (`commandIds`, `commandStarts`, events v3), so a result of many rows costs one entry. One builder per session and direction, reused after each `take()`.
 */
export class FrameBuilder {
  private parts: Buffer[] = [];
  private types: string[] = [];
  private offsets: number[] = [];
  private size = 0;
  private notes: MaskNote[] = [];
  /** Runs of messages of one command: an entry only where the command changes (events v3). */
  private runIds: number[] = [];
  private runStarts: number[] = [];
  private attributed = false;

  constructor(readonly direction: Direction) {}

  get messages(): number {
    return this.parts.length;
  }

  get bytes(): number {
    return this.size;
  }

  /**
   * Adds one message; `commandId` is the command it belongs to (0: none), by the protocol's own
   * order. A message that carries several commands (a simple Query of several statements: one
   * message, commands `commandId`…`lastCommandId`) counts under the first; each later one gets an
   * empty run after it, so the frame still names every command it carries.
   */
  add(type: string, bytes: Buffer, notes?: readonly MaskNote[], commandId = 0, lastCommandId = commandId): void {
    this.run(commandId, this.parts.length);
    this.parts.push(bytes);
    this.types.push(type);
    this.offsets.push(this.size);
    this.size += bytes.length;
    if (notes) for (const n of notes) this.note(n);
    for (let id = commandId + 1; commandId !== 0 && id <= lastCommandId; id++) this.run(id, this.parts.length);
  }

  /** Starts a run of `commandId` at message `start`, unless the current run is that command's. */
  private run(commandId: number, start: number): void {
    const n = this.runIds.length;
    if (n > 0 && this.runIds[n - 1] === commandId) return;
    this.runIds.push(commandId);
    this.runStarts.push(start);
    if (commandId !== 0) this.attributed = true;
  }

  /** The bytes to write and their Frame event; undefined when nothing was added. Starts a new frame. */
  take(): { bytes: Buffer; frame: Frame } | undefined {
    if (this.parts.length === 0) return undefined;
    const bytes = joinBuffers(this.parts);
    const frame: Frame = {
      type: 'Frame', direction: this.direction, messageType: this.types[0]!, bytes, redacted: false, masks: this.notes, messageTypes: this.types, offsets: this.offsets,
    };
    if (this.attributed) {
      frame.commandIds = this.runIds;
      frame.commandStarts = this.runStarts;
      this.runIds = [];
      this.runStarts = [];
    } else {
      this.runIds.length = 0;
      this.runStarts.length = 0;
    }
    this.attributed = false;
    this.parts = [];
    this.types = [];
    this.offsets = [];
    this.size = 0;
    this.notes = [];
    return { bytes, frame };
  }

  private note(n: MaskNote): void {
    for (const m of this.notes) {
      if (m.detector === n.detector && m.location === n.location) {
        m.count += n.count;
        return;
      }
    }
    this.notes.push({ detector: n.detector, location: n.location, count: n.count });
  }
}
