import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatMicros } from './format.js';

export interface ChartSeries {
  label: string;
  values: number[];
  /** A CSS custom property of styles.css (`--accent`), read when drawing so dark mode applies. */
  color: string;
}

const HEIGHT = 220;
/** Series whose peaks differ by more than this factor get two y axes (left: the first, right: the others). */
const TWO_AXES_RATIO = 10;

/** Whether the series differ by orders of magnitude, so one axis would flatten the smaller ones. */
export function needsTwoAxes(series: ChartSeries[]): boolean {
  if (series.length < 2) return false;
  const peak = (s: ChartSeries) => Math.max(0, ...s.values);
  const first = peak(series[0]!);
  const rest = Math.max(...series.slice(1).map(peak));
  const [lo, hi] = first < rest ? [first, rest] : [rest, first];
  return hi > 0 && lo > 0 && hi / lo > TWO_AXES_RATIO;
}

/** What a series did, in words: its total and its busiest bucket. */
function describe(s: ChartSeries, startsMicros: number[]): string {
  const total = s.values.reduce((a, b) => a + b, 0);
  if (total === 0) return `${s.label}: none`;
  const peak = s.values.indexOf(Math.max(...s.values));
  return `${s.label}: ${total} in all, most (${s.values[peak]}) at ${formatMicros(startsMicros[peak]!).slice(0, 16)} UTC`;
}

/**
 * A time chart drawn by uPlot on a canvas (uPlot styles its elements through the CSSOM, which the
 * console's CSP allows, and its stylesheet is bundled). The canvas is an image to screen readers,
 * labelled with a summary; the numbers themselves are in the table under it.
 */
export function TimeChart({ id, title, startsMicros, series }: { id: string; title: string; startsMicros: number[]; series: ChartSeries[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const summary = series.map((s) => describe(s, startsMicros)).join('; ');
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const axis = { stroke: color('--muted'), grid: { stroke: color('--line'), width: 1 }, ticks: { stroke: color('--line'), width: 1 } };
    const two = needsTwoAxes(series);
    const range = (_u: uPlot, _min: number, max: number): [number, number] => [0, Math.max(1, max)];
    // Two axes: the first series on the left scale, the others on the right one (named in each axis' label).
    const axes: uPlot.Axis[] = two
      ? [axis, { ...axis, size: 64, scale: 'y', label: series[0]!.label }, { ...axis, size: 64, side: 1, scale: 'y2', grid: { show: false }, label: series.slice(1).map((x) => x.label).join(', ') }]
      : [axis, { ...axis, size: 64 }];
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: HEIGHT,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        // Room for five-digit counts on the y axis; the legend names the series (no cursor values).
        axes,
        legend: { live: false },
        scales: two ? { y: { range }, y2: { range } } : { y: { range } },
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: color(s.color), width: 2, points: { show: false }, scale: two && i > 0 ? 'y2' : 'y' }))],
      },
      [startsMicros.map((m) => m / 1e6), ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [startsMicros, series]);
  return (
    <figure class="chart-figure" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div ref={ref} class="chart" role="img" data-axes={needsTwoAxes(series) ? 2 : 1} aria-label={`${title}. ${summary}`} />
      <details>
        <summary>{title} as a table</summary>
        <div class="table-wrap">
          <table>
            <caption>{title} per bucket (UTC)</caption>
            <thead>
              <tr>
                <th scope="col">From</th>
                {series.map((s) => (
                  <th scope="col">{s.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {startsMicros.map((m, i) => (
                <tr>
                  <th scope="row">{formatMicros(m).slice(0, 16)}</th>
                  {series.map((s) => (
                    <td class="num">{s.values[i]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
