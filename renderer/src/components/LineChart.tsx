import type { MetricsPoint } from '../../../main/core/api.js';
import { METRICS_WINDOW_MS } from '../state/agent-store.js';

const W = 300;
const H = 80;
/** a missed heartbeat or two is drawn as a line; a longer silence as a gap */
const MAX_GAP_MS = 16_000;
/** the narrowest span drawn: a young agent's first minute fills the chart instead of a sliver */
const MIN_SPAN_MS = 60_000;

export type MetricKey = 'cpu' | 'memory' | 'disk';

/**
 * A percentage over the last 10 minutes (less while the agent is younger, at least a minute) as a
 * small SVG line chart. The x axis ends at `end` (the latest heartbeat), y is 0–100 %. Points
 * without a value (null) break the line.
 */
export function LineChart({
  points,
  metric,
  end,
  label,
  testId,
}: {
  points: MetricsPoint[];
  metric: MetricKey;
  end: number;
  label: string;
  testId: string;
}) {
  const first = points.length ? Date.parse(points[0]!.at) : end;
  const span = Math.min(METRICS_WINDOW_MS, Math.max(MIN_SPAN_MS, end - first));
  const start = end - span;
  const x = (t: number) => ((t - start) / span) * W;
  const y = (v: number) => H - (Math.min(100, Math.max(0, v)) / 100) * H;

  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  let prevT = Number.NaN;
  let drawn = 0;
  for (const p of points) {
    const t = Date.parse(p.at);
    const v = p[metric];
    if (t < start || Number.isNaN(t)) continue;
    if (v === null || !Number.isFinite(v) || t - prevT > MAX_GAP_MS) {
      if (run.length) runs.push(run);
      run = [];
    }
    prevT = t;
    if (v === null || !Number.isFinite(v)) continue;
    run.push([x(t), y(v)]);
    drawn++;
  }
  if (run.length) runs.push(run);

  const fmt = (n: number) => n.toFixed(1);
  const line = runs.map((r) => r.map(([px, py], i) => `${i ? 'L' : 'M'}${fmt(px)} ${fmt(py)}`).join('')).join('');
  const area = runs
    .filter((r) => r.length > 1)
    .map(
      (r) =>
        `M${fmt(r[0]![0])} ${H}` +
        r.map(([px, py]) => `L${fmt(px)} ${fmt(py)}`).join('') +
        `L${fmt(r[r.length - 1]![0])} ${H}Z`,
    )
    .join('');
  const lonely = runs.filter((r) => r.length === 1).map((r) => r[0]!);

  return (
    <svg
      className={`chart chart-${metric}`}
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
      data-testid={testId}
      data-points={drawn}
    >
      {[25, 50, 75].map((g) => (
        <line key={g} className="grid" x1={0} x2={W} y1={y(g)} y2={y(g)} vectorEffect="non-scaling-stroke" />
      ))}
      {area ? <path className="area" d={area} /> : null}
      {line ? <path className="line" d={line} vectorEffect="non-scaling-stroke" /> : null}
      {lonely.map(([px, py], i) => (
        <line
          key={i}
          className="line"
          x1={px}
          x2={px + 0.01}
          y1={py}
          y2={py}
          vectorEffect="non-scaling-stroke"
          strokeLinecap="round"
        />
      ))}
    </svg>
  );
}
