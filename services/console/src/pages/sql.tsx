import { useContext, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import Papa from 'papaparse';
import { api, ApiFailure, type QueryResult } from '../api.js';
import { ErrorLine, NotAllowed, ResultTable } from '../components.js';
import { Me, canSeeRecordings } from '../session-context.js';

/** The README's SOC queries, one click away. */
const EXAMPLES: { label: string; sql: string }[] = [
  { label: 'Events by type', sql: 'SELECT type, count() AS n FROM events GROUP BY type ORDER BY n DESC' },
  { label: 'Latest sessions', sql: 'SELECT session_id, subject, connection, protocol FROM sessions FINAL ORDER BY started_micros DESC LIMIT 20' },
  {
    label: 'Denied commands',
    sql: "SELECT subject, connection, text, reasons FROM commands FINAL WHERE decision = 'DENY' ORDER BY ts_micros DESC LIMIT 50",
  },
  {
    label: 'MCP tool calls',
    sql: "SELECT subject, targets[1] AS tool, decision, reasons FROM commands FINAL WHERE protocol = 'mcp' AND action = 'tools/call' ORDER BY ts_micros DESC LIMIT 50",
  },
];

/** Read-only SQL over the recordings (the API runs it as the read-only ClickHouse user), with CSV download. */
export function Sql() {
  const { me } = useContext(Me);
  const { route } = useLocation();
  const [sql, setSql] = useState(EXAMPLES[0]!.sql);
  const [result, setResult] = useState<QueryResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [csvUrl, setCsvUrl] = useState<string>();

  useEffect(() => {
    if (!me) route('/login', true);
  }, [me]);
  useEffect(() => () => csvUrl && URL.revokeObjectURL(csvUrl), [csvUrl]);
  if (!me) return null;
  if (!canSeeRecordings(me)) return <NotAllowed what="SQL over the recordings" roles={['soc', 'admin']} />;

  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.query(sql);
      setResult(r);
      const csv = Papa.unparse({ fields: r.columns.map((c) => c.name), data: r.rows.map((row) => row.cells.map((c) => (c.isNull ? '' : c.text))) });
      setCsvUrl(URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' })));
    } catch (err) {
      setResult(undefined);
      setCsvUrl(undefined);
      setError(err instanceof ApiFailure ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="sql-title">
      <h1 id="sql-title">SQL over the recordings</h1>
      <div role="group" aria-label="Example queries" class="examples">
        {EXAMPLES.map((x) => (
          <button type="button" onClick={() => setSql(x.sql)}>
            {x.label}
          </button>
        ))}
      </div>
      <form onSubmit={(e) => void run(e)}>
        <label for="sql">Query (read-only, ClickHouse SQL; tables sessions, events, commands)</label>
        <textarea id="sql" rows={5} spellcheck={false} value={sql} onInput={(e) => setSql(e.currentTarget.value)} />
        <button type="submit" disabled={busy || !sql.trim()}>
          Run
        </button>
        {csvUrl && (
          <a class="button" href={csvUrl} download="chaperone-query.csv">
            Download CSV
          </a>
        )}
      </form>
      <ErrorLine error={error} />
      <div aria-live="polite">
        {result && (
          <>
            <ResultTable
              caption={`${result.rows.length} rows${result.truncated ? ' (truncated)' : ''}`}
              columns={result.columns.map((c) => c.name)}
              rows={result.rows.map((r) => r.cells.map((c) => (c.isNull ? null : c.text)))}
            />
          </>
        )}
      </div>
    </section>
  );
}
