import { useEffect, useState } from 'preact/hooks';

/** A pause longer than this (recorded time) is skipped while playing: nobody waits for an idle agent. */
const MAX_IDLE_MICROS = 2_000_000;
const TICK_MS = 100;
export const SPEEDS = [0.5, 1, 2, 5, 10];

export interface Timeline {
  /** The position in recorded time (microseconds since the epoch): what happened up to it is shown. */
  pos: number;
  start: number;
  end: number;
  playing: boolean;
  speed: number;
  /** Event times, ascending. */
  times: number[];
  setPos(p: number): void;
  setPlaying(p: boolean): void;
  setSpeed(s: number): void;
}

/**
 * A timed replay: the position moves at `speed` × the recorded pace while playing, jumping over
 * idle gaps longer than MAX_IDLE_MICROS; at the end it stops. A new end (a live session grew)
 * moves a position that was at the end along with it.
 */
export function useTimeline(times: number[], start: number, end: number): Timeline {
  const [pos, setPos] = useState(end);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const [lastEnd, setLastEnd] = useState(end);
  if (end !== lastEnd) {
    setLastEnd(end);
    if (pos >= lastEnd) setPos(end);
  }
  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const dt = (now - last) * 1000 * speed;
      last = now;
      setPos((p) => {
        const next = times.find((t) => t > p);
        const moved = next !== undefined && next - p > MAX_IDLE_MICROS ? next - MAX_IDLE_MICROS / 4 : p + dt;
        return Math.min(end, moved);
      });
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [playing, speed, end, times]);
  useEffect(() => {
    if (playing && pos >= end) setPlaying(false);
  }, [playing, pos, end]);
  return { pos, start, end, playing, speed, times, setPos, setPlaying, setSpeed };
}

const seconds = (micros: number): string => `${(micros / 1e6).toFixed(1)} s`;

/** Play/Pause, the speed, a time scrubber and previous/next event: native controls, labelled, from the keyboard. */
export function TimelineControls({ t, events }: { t: Timeline; events: number }) {
  const span = Math.max(0, t.end - t.start);
  const shown = t.times.filter((x) => x <= t.pos).length;
  const jump = (to: number | undefined) => {
    if (to === undefined) return;
    t.setPlaying(false);
    t.setPos(to);
  };
  return (
    <div class="controls" role="group" aria-label="Playback">
      <button
        type="button"
        onClick={() => {
          if (!t.playing && t.pos >= t.end) t.setPos(t.start);
          t.setPlaying(!t.playing);
        }}
      >
        {t.playing ? 'Pause' : 'Play'}
      </button>
      <label for="speed">Speed</label>
      <select id="speed" value={t.speed} onChange={(e) => t.setSpeed(Number(e.currentTarget.value))}>
        {SPEEDS.map((s) => (
          <option value={s}>{s}×</option>
        ))}
      </select>
      <button type="button" onClick={() => jump([...t.times].reverse().find((x) => x < t.pos) ?? t.start)}>
        Previous event
      </button>
      <label for="scrub">Time</label>
      <input
        id="scrub"
        type="range"
        min={0}
        max={Math.ceil(span / 1000)}
        step={1}
        value={Math.round((t.pos - t.start) / 1000)}
        aria-valuetext={`${seconds(t.pos - t.start)} of ${seconds(span)}, ${shown} of ${events} events`}
        onInput={(e) => {
          t.setPlaying(false);
          t.setPos(t.start + Number(e.currentTarget.value) * 1000);
        }}
      />
      <button type="button" onClick={() => jump(t.times.find((x) => x > t.pos))}>
        Next event
      </button>
      <output for="scrub" data-shown={shown}>
        {seconds(Math.max(0, t.pos - t.start))} / {seconds(span)} · {shown} / {events} events
      </output>
    </div>
  );
}
