import { useContext, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, qs, type Session } from '../api.js';
import { useChanges } from '../live.js';
import { ErrorLine, NotAllowed } from '../components.js';
import { formatMicros, microsOf } from '../format.js';
import { Me, canSeeRecordings } from '../session-context.js';

const PAGE = 25;
const REFRESH_MS = 5000;

interface Filters {
  subject: string;
  connection: string;
  verdict: string;
  state: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { subject: '', connection: '', verdict: '', state: '', since: '', until: '' };

/**
 * Sessions, newest first, PAGE at a time: each page asks for one more row than it shows, and the
 * next page starts before the last shown session's start (untilMicros), as `sessions ls --before`.
 */
export function Sessions() {
  const { me } = useContext(Me);
  const { route, query } = useLocation();
  const [form, setForm] = useState<Filters>({ ...EMPTY, subject: query.subject ?? '' });
  const [applied, setApplied] = useState<Filters>(form);
  // Cursors of the pages before this one, so "Newer" goes back.
  const [cursors, setCursors] = useState<number[]>([0]);
  const [rows, setRows] = useState<Session[]>();
  const [next, setNext] = useState<number>();
  const [error, setError] = useState<string>();
  const cursor = cursors.at(-1) ?? 0;

  // The first page is re-read when the API pushes a change (server-sent events; every REFRESH_MS
  // when the stream cannot be had), so new and live sessions show up and update.
  const live = canSeeRecordings(me) && !cursor;
  const { tick } = useChanges(
    live
      ? `sessions${qs({ subject: applied.subject, connection: applied.connection, verdict: applied.verdict, state: applied.state, sinceMicros: microsOf(applied.since), untilMicros: microsOf(applied.until), limit: PAGE + 1 })}`
      : undefined,
    REFRESH_MS,
  );

  useEffect(() => {
    if (!me) return route('/login', true);
    if (!canSeeRecordings(me)) return;
    const until = cursor || microsOf(applied.until);
    api
      .sessions({ subject: applied.subject, connection: applied.connection, verdict: applied.verdict, state: applied.state, sinceMicros: microsOf(applied.since), untilMicros: until, limit: PAGE + 1 })
      .then(
        ({ sessions }) => {
          setError(undefined);
          const shown = sessions.slice(0, PAGE);
          setRows(shown);
          const last = shown.at(-1)?.startedMicros;
          setNext(sessions.length > PAGE && last ? (sessions[PAGE]!.startedMicros === last ? last + 1 : last) : undefined);
        },
        (err: unknown) => setError(err instanceof ApiFailure ? err.message : String(err)),
      );
  }, [me, applied, cursor, tick]);

  if (!me) return null;
  if (!canSeeRecordings(me)) return <NotAllowed what="Recorded sessions" roles={['soc', 'admin']} />;
  const input = (k: keyof Filters, label: string, type: 'text' | 'datetime-local' = 'text') => (
    <div class="field">
      <label for={`f-${k}`}>{label}</label>
      {type === 'text' ? (
        <input id={`f-${k}`} type="text" value={form[k]} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} />
      ) : (
        <input id={`f-${k}`} type="datetime-local" value={form[k]} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} />
      )}
    </div>
  );
  const select = (k: keyof Filters, label: string, options: string[]) => (
    <div class="field">
      <label for={`f-${k}`}>{label}</label>
      <select id={`f-${k}`} value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.currentTarget.value })}>
        <option value="">any</option>
        {options.map((o) => (
          <option value={o}>{o}</option>
        ))}
      </select>
    </div>
  );
  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <form
        class="filters"
        aria-label="Filter sessions"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([0]);
          setApplied(form);
        }}
      >
        {input('subject', 'Identity (subject)')}
        {input('connection', 'Connection')}
        {select('verdict', 'Verdict', ['ALLOW', 'DENY', 'APPROVAL', 'MASK'])}
        {select('state', 'State', ['open', 'sealed', 'ended', 'incomplete'])}
        {input('since', 'Started after (UTC)', 'datetime-local')}
        {input('until', 'Started before (UTC)', 'datetime-local')}
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={error} />
      {rows && (
        <div class="table-wrap">
          <table>
            <caption>{rows.length ? `${rows.length} session${rows.length === 1 ? '' : 's'}, newest first` : 'No session matches'}</caption>
            <thead>
              <tr>
                <th scope="col">Started (UTC)</th>
                <th scope="col">Identity</th>
                <th scope="col">Connection</th>
                <th scope="col">Protocol</th>
                <th scope="col">Node</th>
                <th scope="col">Commands</th>
                <th scope="col">Denied</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.sessionId}>
                  <td>
                    <a href={`/sessions/${encodeURIComponent(s.sessionId)}`} aria-label={`session ${s.sessionId} of ${s.subject}`}>
                      {formatMicros(s.startedMicros)}
                    </a>
                  </td>
                  <td>{s.subject}</td>
                  <td>{s.connection}</td>
                  <td>{s.protocol}</td>
                  <td>{s.nodeId}</td>
                  <td class="num">{s.counters.commands}</td>
                  <td class="num">{s.counters.denied}</td>
                  <td>
                    <span class={`state state-${s.state}`}>{s.state === 'open' ? 'live' : s.state}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={next === undefined} onClick={() => next !== undefined && setCursors([...cursors, next])}>
          Older
        </button>
      </nav>
    </section>
  );
}
