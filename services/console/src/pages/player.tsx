import { useMemo } from 'preact/hooks';
import type { Transcript, TranscriptCommand } from '../api.js';
import { ResultTable } from '../components.js';
import { formatMicros } from '../format.js';
import { TimelineControls, useTimeline } from '../timeline.js';

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
 * decisions and approvals, up to a point in recorded time the scrubber sets; Play moves it at the
 * recorded pace times the chosen speed (idle gaps skipped).
 */
export function Player({ transcript, protocol, startMicros, endMicros }: { transcript: Transcript; protocol: string; startMicros: number; endMicros: number }) {
  const steps = transcript.commands;
  const times = useMemo(() => steps.map((c) => c.tsMicros), [steps]);
  const start = Math.min(startMicros || Infinity, times[0] ?? Infinity);
  const end = Math.max(endMicros, times.at(-1) ?? 0, start);
  const t = useTimeline(times, Number.isFinite(start) ? start : end, end);
  const shown = steps.filter((c) => c.tsMicros <= t.pos);
  return (
    <section aria-labelledby="h-replay" class="player">
      <h2 id="h-replay">Replay{protocol ? ` (${protocol})` : ''}</h2>
      <TimelineControls t={t} events={steps.length} />
      {steps.length === 0 && <p>No statement was recorded in this session.</p>}
      <ol class="transcript" aria-live={t.playing ? 'polite' : 'off'}>
        {shown.map((c, i) => (
          <Step key={`${c.seq}-${i}`} c={c} index={i} omitted={transcript.rowsOmitted[c.seq] ?? 0} />
        ))}
      </ol>
    </section>
  );
}
