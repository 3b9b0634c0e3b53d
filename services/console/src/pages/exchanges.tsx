import { useMemo, useState } from 'preact/hooks';
import type { WebBody, WebExchange, WebExchanges } from '@chaperone/api/web-types';
import { formatMicros } from '../format.js';
import { lazy } from 'preact-iso';
import { TimelineControls, useTimeline } from '../timeline.js';

// xterm.js is most of the console's script: loaded with the first terminal shown.
const TerminalReplay = lazy(() => import('../terminal.js').then((m) => m.TerminalReplay));
const TunnelText = lazy(() => import('../terminal.js').then((m) => m.TunnelText));

const size = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

function Body({ label, b }: { label: string; b: WebBody }) {
  const partial = b.stored && b.stored.storedBytes < b.stored.bytes;
  return (
    <div class={`body body-${b.kind}`}>
      <p class="muted">
        {label}: {b.kind === 'git' ? 'git pkt-lines' : b.kind}, {size(b.bytes)}
        {b.kind === 'binary' && (
          <>
            , sha256 <code>{b.sha256}</code>
          </>
        )}
        {partial && ` (the gateway stored ${size(b.stored!.storedBytes)} of ${size(b.stored!.bytes)}, sha256 ${b.stored!.sha256})`}
        {b.shownBytes < b.bytes && b.kind !== 'binary' && ` — the first ${size(b.shownBytes)} shown`}
      </p>
      {b.text !== undefined && <pre aria-label={label}>{b.text}</pre>}
    </div>
  );
}

function Exchange({ x, index, pos, showStdin }: { x: WebExchange; index: number; pos: number; showStdin: boolean }) {
  const status = x.status && x.status.tsMicros <= pos ? x.status : undefined;
  const exec = x.tunnel.length > 0 || x.action === 'k8s.exec' || x.action === 'k8s.attach';
  return (
    <li class="step exchange" aria-label={`request ${index + 1}: ${x.action || 'request'}`}>
      <p class="when">
        <time>{formatMicros(x.tsMicros)}</time> <span class="action">{x.action || 'request'}</span>
        {x.targets.length ? <span class="muted"> on {x.targets.join(', ')}</span> : null}
        {status && <span class={`status status-${Math.floor(status.code / 100)}xx`}> → {status.line}</span>}
      </p>
      <pre class="statement">{x.text}</pre>
      {x.fields.length > 0 && (
        <ul class="fields" aria-label="Parsed fields">
          {x.fields.map((f) => (
            <li class={/FORCE PUSH|OVERWRITES/.test(f) ? 'field-alert' : undefined}>{f}</li>
          ))}
        </ul>
      )}
      {x.decision && (
        <p class={`decision decision-${x.decision.result.toLowerCase()}`}>
          Decision: <strong>{x.decision.result}</strong>
          {x.decision.reasons.length ? ` — ${x.decision.reasons.join('; ')}` : ''}
          {x.decision.policyRevision && <span class="muted"> (policy {x.decision.policyRevision})</span>}
        </p>
      )}
      {x.approval && (
        <p class="approval">
          Approval <code>{x.approval.approvalId.slice(0, 17)}</code>: <strong>{x.approval.outcome ?? 'requested'}</strong>
          {x.approval.approvers?.length ? ` by ${x.approval.approvers.join(', ')}` : ''}
          {x.approval.reason ? ` — “${x.approval.reason}”` : ''}
        </p>
      )}
      {x.request && <Body label={`Request body of request ${index + 1}`} b={x.request} />}
      {status && x.response && <Body label={`Response body of request ${index + 1}`} b={x.response} />}
      {exec && (
        <>
          <TerminalReplay chunks={x.tunnel} pos={pos} showStdin={showStdin} label={`Terminal of request ${index + 1}: ${x.fields.join('; ')}`} />
          <TunnelText chunks={x.tunnel.filter((c) => c.tsMicros <= pos && (showStdin || c.channel !== 'stdin'))} />
        </>
      )}
    </li>
  );
}

/**
 * HTTP, git, OCI, Kubernetes and MCP sessions as their requests (parsed fields, decision, held
 * outcome, status, bodies) and `kubectl exec` as a terminal, up to the scrubber's time.
 */
export function ExchangePlayer({ data, protocol, startMicros, endMicros }: { data: WebExchanges; protocol: string; startMicros: number; endMicros: number }) {
  const xs = data.exchanges;
  const times = useMemo(() => [...new Set(xs.flatMap((x) => [x.tsMicros, ...(x.status ? [x.status.tsMicros] : []), ...x.tunnel.map((c) => c.tsMicros)]))].sort((a, b) => a - b), [xs]);
  const start = Math.min(startMicros || Infinity, times[0] ?? Infinity);
  const end = Math.max(endMicros, times.at(-1) ?? 0, Number.isFinite(start) ? start : 0);
  const t = useTimeline(times, Number.isFinite(start) ? start : end, end);
  // Off at first: the gateway masks what comes back, not what the agent typed (the recording holds typed input as it was).
  const [showStdin, setShowStdin] = useState(false);
  const shown = xs.filter((x) => x.tsMicros <= t.pos);
  const anyExec = xs.some((x) => x.tunnel.length > 0);
  return (
    <section aria-labelledby="h-replay" class="player">
      <h2 id="h-replay">Replay{protocol ? ` (${protocol})` : ''}</h2>
      <TimelineControls t={t} events={times.length} />
      {anyExec && (
        <p>
          <label>
            <input type="checkbox" checked={showStdin} onChange={(e) => setShowStdin(e.currentTarget.checked)} /> Show typed input (stdin, dim; not masked)
          </label>
        </p>
      )}
      {data.tunnelOmitted > 0 && <p class="muted">{data.tunnelOmitted} later terminal chunks are not shown (the recording holds them: `chaperone replay`).</p>}
      {xs.length === 0 && <p>No request was recorded in this session.</p>}
      <ol class="transcript" aria-live={t.playing ? 'polite' : 'off'}>
        {shown.map((x, i) => (
          <Exchange key={`${x.seq}-${i}`} x={x} index={i} pos={t.pos} showStdin={showStdin} />
        ))}
      </ol>
    </section>
  );
}
