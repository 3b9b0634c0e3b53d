import { jsonStyle } from '../json-style.js';
import type { EventMsg } from '../proto.js';
import { TranscriptBuilder, type Transcript, type TranscriptCommand } from './transcript.js';

/** Commands held back at most (each waits for late decisions and approvals until a later one has results). */
const HELD_COMMANDS = 32;

/** `JSON.stringify(value, null, 2)` in the CLI's JSON style (json-style.ts) as it reads nested `depth` levels deep. */
const pretty = (value: unknown, depth: number): string => JSON.stringify(jsonStyle(value), null, 2).replace(/\n/g, `\n${'  '.repeat(depth)}`);

const pad = (depth: number) => '  '.repeat(depth);

/** A command's fields in document order; rows first in `result`, since they are written as they come. */
function commandDoc(c: TranscriptCommand, rows: unknown[] = c.result.rows): Record<string, unknown> {
  const { columns, tag, error, notExecuted } = c.result;
  return {
    seq: c.seq, tsMicros: c.tsMicros, commandId: c.commandId, action: c.action, text: c.text, targets: c.targets,
    result: { rows, columns, tag, error, ...(notExecuted ? { notExecuted } : {}) },
    decision: c.decision,
    approval: c.approval,
  };
}

/**
 * A transcript as one JSON document (`replay --json`), written as the events come: the same
 * document `JSON.stringify(transcriptDocument(buildTranscript(events)), null, 2)` gives, but no
 * result row is held. A command is written once a later one has results (or the session ends);
 * the command receiving rows is written head first, then row by row. Keys follow the order they
 * are known in: `ended`, `events` and `frames` come after `commands`, and in a command `result`
 * (rows first) before `decision` and `approval`. A decision or approval recorded for a command
 * after a later command's results (never seen from our gateway) would be left out.
 */
export class TranscriptJsonWriter {
  private readonly b = new TranscriptBuilder({ onRow: (cmd, row) => this.row(cmd, row) });
  private out: string[] = [];
  private opened = false;
  private written = 0;
  private streaming: TranscriptCommand | undefined;
  private rows = 0;
  private startedWritten = false;

  /** JSON text this event completes, possibly ''. */
  push(e: EventMsg): string {
    this.b.push(e);
    const current = this.b.currentCommand;
    const held = current ? this.b.t.commands.indexOf(current) : this.b.t.commands.length;
    if (held > HELD_COMMANDS) this.writeBefore(held);
    return this.take();
  }

  /** The rest of the document, once the events end. */
  end(): string {
    this.open();
    this.writeBefore(this.b.t.commands.length);
    const t = this.b.t;
    const tail: Record<string, unknown> = {
      ...(t.started && !this.startedWritten ? { started: t.started } : {}),
      ...(t.ended ? { ended: t.ended } : {}),
      events: t.events,
      frames: t.frames,
      messages: t.messages,
    };
    const fields = Object.entries(tail).map(([k, v]) => `${pad(1)}${JSON.stringify(k)}: ${pretty(v, 1)}`);
    this.out.push(this.written ? `\n${pad(1)}]` : ']', ...fields.map((f) => `,\n${f}`), '\n}\n');
    return this.take();
  }

  private take(): string {
    const s = this.out.join('');
    this.out = [];
    return s;
  }

  /** The document's head, once the session's id (and its start, if it comes first) is known. */
  private open(): void {
    if (this.opened) return;
    this.opened = true;
    const t = this.b.t;
    this.startedWritten = t.started !== undefined;
    const head: Partial<Transcript> = { sessionId: t.sessionId, nodeId: t.nodeId, ...(t.started ? { started: t.started } : {}) };
    const fields = Object.entries(head).map(([k, v]) => `${pad(1)}${JSON.stringify(k)}: ${pretty(v, 1)},\n`);
    this.out.push('{\n', ...fields, `${pad(1)}"commands": [`);
  }

  private separator(): string {
    return `${this.written++ ? ',' : ''}\n${pad(2)}`;
  }

  /** Writes and retires the first n commands (the one receiving rows is closed). */
  private writeBefore(n: number): void {
    this.open();
    for (const c of this.b.retire(n)) {
      if (c === this.streaming) this.close();
      else this.out.push(this.separator(), pretty(commandDoc(c), 2));
    }
  }

  private row(cmd: TranscriptCommand, row: (string | null)[]): void {
    if (cmd !== this.streaming) {
      this.writeBefore(this.b.t.commands.indexOf(cmd));
      this.streaming = cmd;
      this.rows = 0;
      // The command's fields up to its rows: the head of what pretty() would write.
      const head = pretty(commandDoc(cmd, [0]), 2);
      this.out.push(this.separator(), head.slice(0, head.indexOf('"rows": [') + '"rows": ['.length));
    }
    this.out.push(`${this.rows++ ? ',' : ''}\n${pad(5)}${pretty(row, 5)}`);
  }

  /** Ends the command whose rows were being written: what came after its rows. */
  private close(): void {
    const c = this.streaming!;
    this.streaming = undefined;
    const whole = pretty(commandDoc(c, [0]), 2);
    const rowsEnd = whole.indexOf('"rows": [') + '"rows": ['.length;
    // Past the placeholder row: `\n<pad>0\n<pad>]…`.
    this.out.push(`\n${pad(4)}]`, whole.slice(whole.indexOf(']', rowsEnd) + 1));
  }
}

/** The document `TranscriptJsonWriter` writes, built whole (tests, small sessions). */
export function transcriptDocument(t: Transcript): Record<string, unknown> {
  return jsonStyle({
    sessionId: t.sessionId, nodeId: t.nodeId, ...(t.started ? { started: t.started } : {}),
    commands: t.commands.map((c) => commandDoc(c)),
    ...(t.ended ? { ended: t.ended } : {}), events: t.events, frames: t.frames, messages: t.messages,
  }) as Record<string, unknown>;
}
