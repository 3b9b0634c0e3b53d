import { useContext, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, qs, type Approval } from '../api.js';
import { useChanges } from '../live.js';
import { ErrorLine, NotAllowed } from '../components.js';
import { Me, canDecide, canSeeApprovals } from '../session-context.js';

/** How often the inbox asks for new approvals (they appear without a reload). */
const POLL_MS = 2000;

function Decide({ a, onDone }: { a: Approval; onDone: (msg: string) => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = a.approvalId.slice(9, 21);
  const decide = (approve: boolean) => {
    setBusy(true);
    setError(undefined);
    api.decide(a.approvalId, approve, reason).then(
      (r) => {
        // A refused answer (not an approver for it, self-approval) leaves the approval pending.
        setBusy(false);
        onDone(r.refused ? `refused: ${r.refused}` : `${approve ? 'approved' : 'denied'} ${id}: now ${r.status.state.toLowerCase()}`);
      },
      (err: unknown) => {
        setError(err instanceof ApiFailure ? err.message : String(err));
        setBusy(false);
      },
    );
  };
  return (
    <form class="decide" aria-label={`Decide approval ${id}`} onSubmit={(e) => e.preventDefault()}>
      <label for={`reason-${id}`}>Reason</label>
      <input id={`reason-${id}`} type="text" value={reason} onInput={(e) => setReason(e.currentTarget.value)} placeholder="why (recorded with your answer)" />
      <button type="button" class="approve" disabled={busy} onClick={() => decide(true)}>
        Approve
      </button>
      <button type="button" class="deny" disabled={busy || !reason.trim()} onClick={() => decide(false)} title="a denial needs a reason">
        Deny
      </button>
      <ErrorLine error={error} />
    </form>
  );
}

/** Pending approvals (pushed live, or polled), with approve/deny for approvers; the history of decided ones on demand. */
export function Approvals() {
  const { me } = useContext(Me);
  const { route } = useLocation();
  const [all, setAll] = useState(false);
  const [items, setItems] = useState<Approval[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [tick, setTick] = useState(0);
  // New approvals are pushed by the API (server-sent events); polled only when the stream cannot be had.
  const changes = useChanges(canSeeApprovals(me) ? `approvals${qs({ all: all ? 'true' : undefined, limit: 100 })}` : undefined, POLL_MS);

  useEffect(() => {
    if (!me) return route('/login', true);
    if (!canSeeApprovals(me)) return;
    let live = true;
    const load = () =>
      api.approvals(all).then(
        (r) => {
          if (!live) return;
          setItems(r.approvals);
          setError(undefined);
        },
        (err: unknown) => live && setError(err instanceof ApiFailure ? err.message : String(err)),
      );
    void load();
    return () => {
      live = false;
    };
  }, [me, all, tick, changes.tick]);

  if (!me) return null;
  if (!canSeeApprovals(me)) return <NotAllowed what="Approvals" roles={['approver', 'soc', 'admin']} />;
  const pending = items?.filter((a) => a.state === 'PENDING') ?? [];
  const decided = items?.filter((a) => a.state !== 'PENDING') ?? [];
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <p class="help">New approvals appear here as agents ask ({changes.mode === 'live' ? 'pushed by the API as they come' : `checked every ${POLL_MS / 1000} s`}).</p>
      <div class="field inline">
        <input id="show-all" type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} />
        <label for="show-all">Show decided approvals too</label>
      </div>
      <ErrorLine error={error} />
      <p role="status" class="notice">
        {notice}
      </p>
      <h2>Pending ({pending.length})</h2>
      {items && pending.length === 0 && <p>Nothing waits for an answer.</p>}
      <ul class="approvals">
        {pending.map((a) => (
          <li key={a.approvalId} class="approval-item" aria-label={`approval for ${a.subject} on ${a.connection}`}>
            <p>
              <strong>{a.subject}</strong> on <strong>{a.connection}</strong> asked at {a.requestedAt}
            </p>
            <pre class="statement">{a.command}</pre>
            <p class="muted">
              Bound to this exact command, identity and connection: <code>{a.approvalId}</code>
            </p>
            {canDecide(me) ? (
              <Decide
                a={a}
                onDone={(msg) => {
                  setNotice(msg);
                  setTick(tick + 1);
                }}
              />
            ) : (
              <p class="muted">Only approvers answer approvals.</p>
            )}
          </li>
        ))}
      </ul>
      {all && (
        <>
          <h2>Decided ({decided.length})</h2>
          <div class="table-wrap">
            <table>
              <caption>Decided approvals, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col">Identity</th>
                  <th scope="col">Command</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">By</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {decided.map((a) => (
                  <tr key={a.approvalId}>
                    <td>{a.requestedAt}</td>
                    <td>{a.subject}</td>
                    <td>
                      <code>{a.command}</code>
                    </td>
                    <td>{a.state}</td>
                    <td>{a.approver ?? '—'}</td>
                    <td>{a.reason ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
