import { useEffect, useState } from 'preact/hooks';
import type { Transcript, TranscriptCommand } from '../api.js';
import { ResultTable } from '../components.js';
import { formatMicros } from '../format.js';

/** Longest pause between two steps while playing, whatever the recorded gap. */
const MAX_STEP_MS = 2000;
const SPEEDS = [1, 2, 5, 10];

function Decision({ c }: { c: TranscriptCommand }) {
  if (!c.decision) return null;
  return (
    <p class={`decision decision-${c.decision.result.toLowerCase()}`}>
      Decision: <strong>{c.decision.result}</strong>
      {c.decision.reasons.length ? ` — ${c.decision.reasons.join('; ')}` : ''}
      {c.decision.policyRevision && <span class="muted"> (policy {c.decision.policyRevision})</span>}
    </p>
  );
}

function Approval({ c }: { c: TranscriptCommand }) {
  const a = c.approval;
  if (!a) return null;
  return (
    <p class="approval">
      Approval <code>{a.approvalId.slice(0, 17)}…</code>: <strong>{a.outcome ?? 'requested'}</strong>
      {a.approvers?.length ? ` by ${a.approvers.join(', ')}` : ''}
      {a.reason ? ` — “${a.reason}”` : ''}
    </p>
  );
}

function Step({ c, index, omitted }: { c: TranscriptCommand; index: number; omitted: number }) {
  const r = c.result;
  return (
    <li class="step" aria-label={`step ${index + 1}: ${c.action || 'query'}`}>
      <p class="when">
        <time>{formatMicros(c.tsMicros)}</time> <span class="action">{c.action || 'query'}</span>
        {c.targets.length ? <span class="muted"> on {c.targets.join(', ')}</span> : null}
      </p>
      <pre class="statement">{c.text}</pre>
      <Decision c={c} />
      <Approval c={c} />
      {r.columns && r.rows.length > 0 && <ResultTable caption={`Result of step ${index + 1}`} columns={r.columns} rows={r.rows} />}
      {omitted > 0 && <p class="muted">… and {omitted} more rows (the whole result is in the recording: use SQL or `chaperone replay`)</p>}
      {r.tag && <p class="tag">{r.tag}</p>}
      {r.error && (
        <p class="error">
          {r.error.severity} {r.error.code}: {r.error.message}
        </p>
      )}
    </li>
  );
}

/**
 * The PostgreSQL replay as a transcript: statements, result tables (masked cells marked),
 * decisions and approvals. A scrubber shows the session up to any step; Play steps through it at
 * the recorded pace (gaps capped at MAX_STEP_MS) times the chosen speed.
 */
export function Player({ transcript, protocol }: { transcript: Transcript; protocol: string }) {
  const steps = transcript.commands;
  const [at, setAt] = useState(steps.length);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  useEffect(() => setAt(steps.length), [steps.length]);
  useEffect(() => {
    if (!playing) return;
    if (at >= steps.length) return setPlaying(false);
    const gap = at === 0 ? 0 : (steps[at]!.tsMicros - steps[at - 1]!.tsMicros) / 1000;
    const timer = setTimeout(() => setAt(at + 1), Math.min(Math.max(gap, 150), MAX_STEP_MS) / speed);
    return () => clearTimeout(timer);
  }, [playing, at, speed]);
  return (
    <section aria-labelledby="h-replay" class="player">
      <h2 id="h-replay">Replay{protocol ? ` (${protocol})` : ''}</h2>
      <div class="controls" role="group" aria-label="Playback">
        <button
          type="button"
          onClick={() => {
            if (!playing && at >= steps.length) setAt(0);
            setPlaying(!playing);
          }}
        >
          {playing ? 'Pause' : 'Play'}
        </button>
        <label for="speed">Speed</label>
        <select id="speed" value={speed} onChange={(e) => setSpeed(Number(e.currentTarget.value))}>
          {SPEEDS.map((s) => (
            <option value={s}>{s}×</option>
          ))}
        </select>
        <label for="scrub">Step</label>
        <input
          id="scrub"
          type="range"
          min={0}
          max={steps.length}
          value={at}
          aria-valuetext={`${at} of ${steps.length} steps`}
          onInput={(e) => {
            setPlaying(false);
            setAt(Number(e.currentTarget.value));
          }}
        />
        <output for="scrub">
          {at} / {steps.length}
        </output>
      </div>
      {steps.length === 0 && <p>No statement was recorded in this session.</p>}
      <ol class="transcript" aria-live={playing ? 'polite' : 'off'}>
        {steps.slice(0, at).map((c, i) => (
          <Step key={`${c.seq}-${i}`} c={c} index={i} omitted={transcript.rowsOmitted[c.seq] ?? 0} />
        ))}
      </ol>
    </section>
  );
}
