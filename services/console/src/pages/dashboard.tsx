import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure, type Dashboard as DashboardData, type DashboardRange } from '../api.js';
import { TimeChart, type ChartSeries } from '../chart.js';
import { ErrorLine, NotAllowed } from '../components.js';
import { formatMicros } from '../format.js';
import { Me, canSeeRecordings } from '../session-context.js';

const REFRESH_MS = 15_000;

const RANGES: { value: DashboardRange; label: string }[] = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last day' },
  { value: '7d', label: 'Last week' },
];

/** A duration in microseconds, roughly: `42 s`, `5 min`, `3 h`, `2 d`. */
function roughly(micros: number): string {
  const s = Math.max(0, Math.round(micros / 1e6));
  if (s < 60) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

function Totals({ d }: { d: DashboardData }) {
  const items: [string, number][] = [
    ['Sessions', d.totals.sessions], ['Commands', d.totals.commands], ['Denied', d.totals.denied], ['Approvals asked', d.totals.approvals], ['Masked values', d.totals.masked],
  ];
  return (
    <dl class="totals" aria-label="Totals over the range">
      {items.map(([label, n]) => (
        <div class="total" data-total={label}>
          <dt>{label}</dt>
          <dd>{n}</dd>
        </div>
      ))}
    </dl>
  );
}

function Recording({ d }: { d: DashboardData }) {
  const behind = d.newestEventMicros ? d.nowMicros - d.newestEventMicros : 0;
  return (
    <section class="card" aria-labelledby="recording-h">
      <h2 id="recording-h">Recording</h2>
      <dl>
        <dt>Newest event stored</dt>
        <dd>{d.newestEventMicros ? `${formatMicros(d.newestEventMicros)} UTC (${roughly(behind)} ago)` : 'none yet'}</dd>
        <dt>Materializer behind Kafka</dt>
        <dd>{d.materializerLagKnown ? `${d.materializerLag} records` : 'unknown (its metrics could not be read)'}</dd>
      </dl>
      <p class="help">With traffic flowing, the age of the newest event is how far the store is behind the gateways at most.</p>
    </section>
  );
}

function Health({ d }: { d: DashboardData }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>Services the API reaches</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Status</th>
            <th scope="col">Detail</th>
            <th scope="col">Answered in</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {d.services.map((s) => (
            <tr>
              <th scope="row">{s.name}</th>
              <td class={s.ok ? 'verify-intact' : 'verify-broken'}>{s.ok ? 'healthy' : 'failing'}</td>
              <td>{s.detail}</td>
              <td class="num">{s.millis} ms</td>
              <td>{s.address}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function GatewayNodes({ d }: { d: DashboardData }) {
  if (d.gatewayNodes.length === 0) return <p class="help">No gateway nodes are configured for the API to check (api.gatewayNodes).</p>;
  return (
    <div class="table-wrap">
      <table class="gateway-nodes">
        <caption>Gateway nodes</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Status</th>
            <th scope="col">Sessions open</th>
            <th scope="col">Version</th>
            <th scope="col">Detail</th>
            <th scope="col">Answered in</th>
          </tr>
        </thead>
        <tbody>
          {d.gatewayNodes.map((n) => (
            <tr data-node={n.id}>
              <th scope="row">{n.id}</th>
              <td class={n.ok ? 'verify-intact' : 'verify-broken'}>{n.ok ? 'up' : 'down'}</td>
              <td class="num">{n.sessionsOpen ?? '?'}</td>
              <td>{[n.version, n.runtime && `Node.js ${n.runtime}`].filter(Boolean).join(', ') || 'unknown'}</td>
              <td>{n.detail}</td>
              <td class="num">{n.millis} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TopTables({ d }: { d: DashboardData }) {
  return (
    <div class="cards">
      <div class="table-wrap">
        <table>
          <caption>Top identities (by sessions)</caption>
          <thead>
            <tr>
              <th scope="col">Identity</th>
              <th scope="col">Sessions</th>
              <th scope="col">Commands</th>
              <th scope="col">Denied</th>
            </tr>
          </thead>
          <tbody>
            {d.topIdentities.length === 0 && (
              <tr>
                <td colSpan={4}>No sessions in this range.</td>
              </tr>
            )}
            {d.topIdentities.map((i) => (
              <tr>
                <th scope="row">
                  <a href={`/sessions?subject=${encodeURIComponent(i.subject)}`}>{i.subject}</a>
                </th>
                <td class="num">{i.sessions}</td>
                <td class="num">{i.commands}</td>
                <td class="num">{i.denied}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="table-wrap">
        <table class="denied">
          <caption>Top denied commands</caption>
          <thead>
            <tr>
              <th scope="col">Command</th>
              <th scope="col">Denied</th>
              <th scope="col">Identities</th>
              <th scope="col">Last (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {d.topDenied.length === 0 && (
              <tr>
                <td colSpan={4}>Nothing denied in this range.</td>
              </tr>
            )}
            {d.topDenied.map((c) => (
              <tr>
                <th scope="row">
                  <code>{c.text}</code>
                </th>
                <td class="num">{c.count}</td>
                <td class="num">{c.identities}</td>
                <td>{formatMicros(c.lastMicros).slice(0, 19)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** Activity over the last hour, day or week, what recording is behind, and the health of the services (soc, admin). */
export function Dashboard() {
  const { me } = useContext(Me);
  const { route, query } = useLocation();
  const range: DashboardRange = RANGES.some((r) => r.value === query.range) ? (query.range as DashboardRange) : '1h';
  const [data, setData] = useState<DashboardData>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    if (!me) return route('/login', true);
    if (!canSeeRecordings(me)) return;
    api.dashboard(range).then(
      (d) => {
        setError(undefined);
        setData(d);
      },
      (err: unknown) => setError(err instanceof ApiFailure ? err.message : String(err)),
    );
  }, [me, range, tick]);

  const charts = useMemo(() => {
    if (!data) return undefined;
    const of = (k: 'sessions' | 'commands' | 'denied' | 'approvals' | 'masked') => data.buckets.map((b) => b[k]);
    const activity: ChartSeries[] = [{ label: 'Sessions', values: of('sessions'), color: '--accent' }, { label: 'Commands', values: of('commands'), color: '--ok' }];
    const control: ChartSeries[] = [
      { label: 'Denied', values: of('denied'), color: '--deny' }, { label: 'Approvals asked', values: of('approvals'), color: '--accent' }, { label: 'Masked values', values: of('masked'), color: '--muted' },
    ];
    return { starts: data.buckets.map((b) => b.startMicros), activity, control };
  }, [data]);

  if (me && !canSeeRecordings(me)) return <NotAllowed what="The dashboard" roles={['soc', 'admin']} />;
  const bucket = data ? roughly(data.bucketMicros) : '';
  return (
    <>
      <h1>Dashboard</h1>
      <fieldset class="controls range">
        <legend>Range</legend>
        {RANGES.map((r) => (
          <span class="field inline">
            <input type="radio" name="range" id={`range-${r.value}`} value={r.value} checked={range === r.value} onChange={() => route(`/dashboard?range=${r.value}`, true)} />
            <label for={`range-${r.value}`}>{r.label}</label>
          </span>
        ))}
      </fieldset>
      <ErrorLine error={error} />
      {!data && !error && <p aria-busy="true">Loading…</p>}
      {data && charts && (
        <>
          <p class="muted" role="status">
            {formatMicros(data.sinceMicros).slice(0, 16)} to {formatMicros(data.untilMicros).slice(0, 16)} UTC, in buckets of {bucket}; updated every {REFRESH_MS / 1000} s.
          </p>
          <Totals d={data} />
          <div class="charts">
            <TimeChart id="activity" title="Sessions and commands" startsMicros={charts.starts} series={charts.activity} />
            <TimeChart id="control" title="Denials, approvals and masked values" startsMicros={charts.starts} series={charts.control} />
          </div>
          <TopTables d={data} />
          <div class="cards">
            <Recording d={data} />
            <section class="card" aria-labelledby="health-h">
              <h2 id="health-h">Health</h2>
              <Health d={data} />
              <GatewayNodes d={data} />
            </section>
          </div>
        </>
      )}
    </>
  );
}
