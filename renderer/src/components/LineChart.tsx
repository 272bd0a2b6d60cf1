import { useId, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { MetricsPoint } from '../../../main/core/api.js';
import { METRICS_WINDOW_MS } from '../state/agent-store.js';

const W = 300;
const H = 80;
/** a missed heartbeat or two is drawn as a line; a longer silence as a gap */
const MAX_GAP_MS = 16_000;
/** the narrowest span drawn: a young agent's first minute fills the chart from the left */
const MIN_SPAN_MS = 60_000;

/** How values map to the y axis: its top for the values in view, and how a value reads on the axis. */
export interface ChartScale {
  top(maxInView: number): number;
  format(value: number): string;
}

/** 0–100 %, whatever the values */
export const PERCENT_SCALE: ChartScale = { top: () => 100, format: (v) => `${v}%` };

/** the least 1, 2, 2.5 or 5 × 10^k at or above max (1 for nothing above zero) */
export function niceTop(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= max * (1 - 1e-9)) ?? 10;
  return step * magnitude;
}

/** 0 up to the window's maximum, rounded up, and never below `floor` (load: the core count) */
export function autoScale(format: (value: number) => string, floor = 0): ChartScale {
  return { top: (max) => niceTop(Math.max(floor, max)), format };
}

/** bytes/s: a nice top in KB/s, or in MB/s from 1 MB/s, so the axis reads "250 KB/s", not "256000" */
export function rateScale(format: (bytesPerS: number) => string): ChartScale {
  return {
    top: (max) => {
      const unit = max >= 1024 * 1024 ? 1024 * 1024 : 1024;
      return niceTop(Math.max(1, max / unit)) * unit;
    },
    format,
  };
}

interface Sample {
  at: string;
  value: number;
  px: number;
  py: number;
}

/**
 * A metric over the last 10 minutes as a small SVG line chart, y 0–100 % or the given scale. While the data spans
 * less than a minute the x axis is that first minute, filled from the left, and each sample is a dot.
 * Points without a value (null) break the line. The frame is focusable: hovering or the arrow keys
 * pick a sample, whose time and value show in a readout that screen readers announce.
 */
export function LineChart({
  points,
  series,
  value,
  scale = PERCENT_SCALE,
  end,
  label,
  testId,
  describe,
  collecting,
}: {
  points: MetricsPoint[];
  /** names the chart's class (its colour) */
  series: string;
  value(point: MetricsPoint): number | null | undefined;
  scale?: ChartScale;
  end: number;
  label: string;
  testId: string;
  /** the readout of one sample: "12:03:04 · 23%" */
  describe(at: string, value: number): string;
  /** shown over the chart during its first minute, with the sample count */
  collecting(count: number): string;
}) {
  const tipId = useId();
  const [picked, setPicked] = useState<number | null>(null);

  const first = points.length ? Date.parse(points[0]!.at) : end;
  const young = end - first < MIN_SPAN_MS;
  const span = young ? MIN_SPAN_MS : Math.min(METRICS_WINDOW_MS, end - first);
  const start = young ? first : end - span;
  const x = (t: number) => ((t - start) / span) * W;
  let maxInView = 0;
  for (const p of points) {
    const v = value(p);
    if (typeof v === 'number' && Number.isFinite(v) && Date.parse(p.at) >= start) maxInView = Math.max(maxInView, v);
  }
  const top = scale.top(maxInView);
  const y = (v: number) => H - (Math.min(top, Math.max(0, v)) / top) * H;

  const samples: Sample[] = [];
  const runs: Sample[][] = [];
  let run: Sample[] = [];
  let prevT = Number.NaN;
  for (const p of points) {
    const t = Date.parse(p.at);
    const v = value(p) ?? null;
    if (t < start || Number.isNaN(t)) continue;
    if (v === null || !Number.isFinite(v) || t - prevT > MAX_GAP_MS) {
      if (run.length) runs.push(run);
      run = [];
    }
    prevT = t;
    if (v === null || !Number.isFinite(v)) continue;
    const s = { at: p.at, value: v, px: x(t), py: y(v) };
    samples.push(s);
    run.push(s);
  }
  if (run.length) runs.push(run);

  const fmt = (n: number) => n.toFixed(1);
  const line = runs.map((r) => r.map((s, i) => `${i ? 'L' : 'M'}${fmt(s.px)} ${fmt(s.py)}`).join('')).join('');
  const area = runs
    .filter((r) => r.length > 1)
    .map(
      (r) =>
        `M${fmt(r[0]!.px)} ${H}` +
        r.map((s) => `L${fmt(s.px)} ${fmt(s.py)}`).join('') +
        `L${fmt(r[r.length - 1]!.px)} ${H}Z`,
    )
    .join('');
  // dots where a line alone would not read: the first minute, and samples between two gaps
  const dots = young ? samples : runs.filter((r) => r.length === 1).map((r) => r[0]!);

  const active = picked === null || samples.length === 0 ? null : samples[Math.min(picked, samples.length - 1)]!;
  const last = samples.length - 1;

  const onKeyDown = (e: KeyboardEvent) => {
    if (samples.length === 0) return;
    const at = picked ?? last;
    const to =
      e.key === 'ArrowLeft'
        ? Math.max(0, at - 1)
        : e.key === 'ArrowRight'
          ? Math.min(last, at + 1)
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? last
              : null;
    if (e.key === 'Escape') return setPicked(null);
    if (to === null) return;
    e.preventDefault();
    setPicked(to);
  };
  const onMouseMove = (e: MouseEvent<HTMLDivElement>) => {
    if (samples.length === 0) return;
    const box = e.currentTarget.getBoundingClientRect();
    const px = ((e.clientX - box.left) / box.width) * W;
    let best = 0;
    for (let i = 1; i < samples.length; i++)
      if (Math.abs(samples[i]!.px - px) < Math.abs(samples[best]!.px - px)) best = i;
    setPicked(best);
  };

  return (
    <>
      <div
        className="chart-frame"
        tabIndex={0}
        role="group"
        aria-label={label}
        aria-describedby={active ? tipId : undefined}
        data-testid={`${testId}-frame`}
        onKeyDown={onKeyDown}
        onFocus={() => setPicked((p) => p ?? (samples.length ? last : null))}
        onBlur={() => setPicked(null)}
        onMouseMove={onMouseMove}
        onMouseLeave={() => setPicked(null)}
      >
        <svg
          className={`chart chart-${series}`}
          viewBox={`0 0 ${W} ${H}`}
          preserveAspectRatio="none"
          aria-hidden="true"
          data-testid={testId}
          data-points={samples.length}
        >
          {[0.25, 0.5, 0.75].map((g) => (
            <line
              key={g}
              className="grid"
              x1={0}
              x2={W}
              y1={H - g * H}
              y2={H - g * H}
              vectorEffect="non-scaling-stroke"
            />
          ))}
          {area ? <path className="area" d={area} /> : null}
          {line ? <path className="line" d={line} vectorEffect="non-scaling-stroke" /> : null}
          {dots.map((s) => (
            <line
              key={s.at}
              className="line dot-mark"
              x1={s.px}
              x2={s.px + 0.01}
              y1={s.py}
              y2={s.py}
              vectorEffect="non-scaling-stroke"
              strokeLinecap="round"
            />
          ))}
          {active ? (
            <>
              <line className="cursor" x1={active.px} x2={active.px} y1={0} y2={H} vectorEffect="non-scaling-stroke" />
              <line
                className="line cursor-dot"
                x1={active.px}
                x2={active.px + 0.01}
                y1={active.py}
                y2={active.py}
                vectorEffect="non-scaling-stroke"
                strokeLinecap="round"
              />
            </>
          ) : null}
        </svg>
        <span className="axis axis-top" aria-hidden="true">
          {scale.format(top)}
        </span>
        <span className="axis axis-bottom" aria-hidden="true">
          0
        </span>
        {/* always there, so that a change of its text is announced */}
        <span
          id={tipId}
          className={active ? `chart-tip${active.px > W / 2 ? ' chart-tip-left' : ''}` : 'sr-only'}
          role="status"
          data-testid={`${testId}-tip`}
          style={active ? { left: `${(active.px / W) * 100}%` } : undefined}
        >
          {active ? describe(active.at, active.value) : ''}
        </span>
      </div>
      {young && samples.length > 0 ? (
        <p className="chart-note muted small" data-testid={`${testId}-collecting`}>
          {collecting(samples.length)}
        </p>
      ) : null}
    </>
  );
}
