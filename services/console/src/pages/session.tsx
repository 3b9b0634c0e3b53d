import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, type Session, type Transcript, type Verify } from '../api.js';
import { useChanges } from '../live.js';
import { ErrorLine, Field, NotAllowed } from '../components.js';
import { formatMicros } from '../format.js';
import { Me, canSeeRecordings } from '../session-context.js';
import type { WebExchanges } from '@chaperone/api/web-types';
import { ExchangePlayer } from './exchanges.js';
import { Player } from './player.js';

const LIVE_REFRESH_MS = 3000;

/** One session: who, where, which node, its counters and seal, an on-demand verify, and its replay. */
export function SessionPage({ id }: { id: string }) {
  const { me } = useContext(Me);
  const { route } = useLocation();
  const [s, setS] = useState<Session>();
  const [t, setT] = useState<Transcript>();
  const [x, setX] = useState<WebExchanges>();
  const [verify, setVerify] = useState<Verify>();
  const [verifying, setVerifying] = useState(false);
  const [error, setError] = useState<string>();
  const heading = useRef<HTMLHeadingElement>(null);
  const fail = (err: unknown) => setError(err instanceof ApiFailure ? err.message : String(err));

  // An open session is re-read when the API pushes a change to it (server-sent events; every
  // LIVE_REFRESH_MS when the stream cannot be had): new statements and counters appear.
  const open = s !== undefined && !s.ended;
  const { tick } = useChanges(open ? `sessions/${encodeURIComponent(id)}` : undefined, LIVE_REFRESH_MS);
  useEffect(() => {
    if (!me) return route('/login', true);
    if (!canSeeRecordings(me)) return;
    api.session(id).then((got) => {
      setS(got);
      // PostgreSQL sessions replay as a transcript; every HTTP-based one as its exchanges.
      if (got.protocol === 'postgres') api.transcript(id).then(setT, fail);
      else api.exchanges(id).then(setX, fail);
    }, fail);
    if (tick === 0) heading.current?.focus();
  }, [me, id, tick]);

  if (!me) return null;
  if (!canSeeRecordings(me)) return <NotAllowed what="Recorded sessions" roles={['soc', 'admin']} />;
  const c = s?.counters;
  return (
    <section aria-labelledby="session-title">
      <p>
        <a href="/sessions">← Sessions</a>
      </p>
      <h1 id="session-title" tabIndex={-1} ref={heading}>
        Session <code>{id}</code>
      </h1>
      <ErrorLine error={error} />
      {s && (
        <div class="cards">
          <section aria-labelledby="h-identity" class="card">
            <h2 id="h-identity">Identity</h2>
            <dl>
              <Field label="Subject">{s.subject}</Field>
              <Field label="Issuer">{s.issuer}</Field>
              <Field label="Groups">{s.groups.join(', ') || '—'}</Field>
            </dl>
          </section>
          <section aria-labelledby="h-connection" class="card">
            <h2 id="h-connection">Connection</h2>
            <dl>
              <Field label="Connection">{s.connection}</Field>
              <Field label="Protocol">{s.protocol}</Field>
              <Field label="Client">{s.clientAddress}</Field>
              <Field label="TLS">{s.tls ? 'yes' : 'no'}</Field>
            </dl>
          </section>
          <section aria-labelledby="h-node" class="card">
            <h2 id="h-node">Node and seal</h2>
            <dl>
              <Field label="Node">{s.nodeId}</Field>
              <Field label="Started">{formatMicros(s.startedMicros)}</Field>
              <Field label="Ended">{s.ended ? `${formatMicros(s.endedMicros)} (${s.endReason}${s.endError ? `: ${s.endError}` : ''})` : 'live'}</Field>
              <Field label="State">{s.state}</Field>
              <Field label="Sealed by">{s.sealedBy || '—'}</Field>
            </dl>
          </section>
          {c && (
            <section aria-labelledby="h-counters" class="card">
              <h2 id="h-counters">Counters</h2>
              <dl>
                <Field label="Commands">{c.commands}</Field>
                <Field label="Denied">{c.denied}</Field>
                <Field label="Frames in / out">{`${c.framesIn} / ${c.framesOut}`}</Field>
                <Field label="Bytes in / out">{`${c.bytesIn} / ${c.bytesOut}`}</Field>
              </dl>
            </section>
          )}
        </div>
      )}
      {s && !s.ended && me.roles.includes('admin') && <EndSession id={id} onEnded={setS} />}
      <section aria-labelledby="h-verify">
        <h2 id="h-verify">Tamper evidence</h2>
        <button
          type="button"
          disabled={verifying}
          onClick={() => {
            setVerifying(true);
            api
              .verify(id)
              .then(setVerify, fail)
              .finally(() => setVerifying(false));
          }}
        >
          Verify hash chain and signature
        </button>
        <div aria-live="polite">
          {verify && (
            <p class={`verify verify-${verify.status}`}>
              <strong>{verify.status}</strong>: {verify.detail}
            </p>
          )}
        </div>
      </section>
      {s && t && <Player transcript={t} protocol={s.protocol} startMicros={s.startedMicros} endMicros={s.ended ? s.endedMicros : 0} />}
      {s && x && <ExchangePlayer data={x} protocol={s.protocol} startMicros={s.startedMicros} endMicros={s.ended ? s.endedMicros : 0} />}
    </section>
  );
}

/** Admin: end this open session on whichever gateway node holds it, with a reason (recorded, and told to the agent). */
function EndSession({ id, onEnded }: { id: string; onEnded: (s: Session) => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  return (
    <section aria-labelledby="h-end">
      <h2 id="h-end">End this session</h2>
      <form
        class="controls"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          api
            .endSession(id, reason)
            .then(onEnded, (err: unknown) => setError(err instanceof ApiFailure ? err.message : String(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label for="end-reason">Reason</label>
        <input id="end-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} placeholder="told to the agent and recorded" />
        <button type="submit" disabled={busy}>
          End session
        </button>
      </form>
      <ErrorLine error={error} />
    </section>
  );
}
