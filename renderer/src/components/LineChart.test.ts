import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { MetricsPoint } from '../../../main/core/api.js';
import { LineChart, PERCENT_SCALE, autoScale, niceTop, rateScale, type ChartScale } from './LineChart.js';

const T0 = Date.parse('2026-01-01T10:00:00Z');

function heartbeats(count: number, everyMs: number): MetricsPoint[] {
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(T0 + i * everyMs).toISOString(),
    cpu: 10 + i,
    memory: 50,
    disk: 20,
  }));
}

function render(
  points: MetricsPoint[],
  value: (p: MetricsPoint) => number | null | undefined = (p) => p.cpu,
  scale: ChartScale = PERCENT_SCALE,
): string {
  const last = points[points.length - 1];
  return renderToStaticMarkup(
    createElement(LineChart, {
      points,
      series: 'cpu',
      value,
      scale,
      end: last ? Date.parse(last.at) : T0,
      label: 'CPU',
      testId: 'chart-cpu',
      describe: (at: string, v: number) => `${at} ${v}`,
      collecting: (n: number) => `collecting ${n}`,
    }),
  );
}

const xsOf = (html: string) => [...html.matchAll(/class="line dot-mark" x1="([\d.]+)"/g)].map((m) => Number(m[1]));

describe('LineChart', () => {
  it('in its first minute draws every sample as a dot, from the left, and says it is collecting', () => {
    const html = render(heartbeats(3, 5_000));
    const xs = xsOf(html);
    expect(xs).toHaveLength(3);
    // 0 s, 5 s, 10 s of a 60 s axis: the left sixth of the 300-wide chart, not its right edge
    expect(xs[0]).toBe(0);
    expect(xs[2]).toBeCloseTo(50, 5);
    expect(html).toContain('collecting 3');
  });

  it('a single heartbeat is a dot at the left with the note, not a sliver at the right edge', () => {
    const html = render(heartbeats(1, 5_000));
    expect(xsOf(html)).toEqual([0]);
    expect(html).toContain('collecting 1');
  });

  it('after a minute it is a line over the whole width without dots or the note', () => {
    const html = render(heartbeats(30, 5_000));
    expect(xsOf(html)).toEqual([]);
    expect(html).toMatch(/class="line" d="M0\.0 /);
    expect(html).not.toContain('collecting');
    expect(html).toContain('data-points="30"');
  });

  it('is a focusable group with a label, and no data shows no readout', () => {
    const html = render([]);
    expect(html).toMatch(/tabindex="0" role="group" aria-label="CPU"/);
    expect(html).toContain('data-points="0"');
    expect(html).not.toContain('collecting');
  });
});

const dotYs = (html: string) =>
  [...html.matchAll(/class="line dot-mark"[^>]* y1="([\d.]+)"/g)].map((m) => Number(m[1]));
const axisTop = (html: string) => /class="axis axis-top"[^>]*>([^<]*)</.exec(html)?.[1];

describe('the y scale', () => {
  it('rounds the top up to 1, 2, 2.5 or 5 × 10^k', () => {
    expect([0, 0.3, 1, 1.2, 3.7, 2.4, 7, 10, 42, 100, 101, 180_000].map(niceTop)).toEqual([
      1, 0.5, 1, 2, 5, 2.5, 10, 10, 50, 100, 200, 200_000,
    ]);
  });

  it('percent stays 0–100 % whatever the values', () => {
    const html = render(heartbeats(2, 5_000));
    expect(axisTop(html)).toBe('100%');
    // cpu 10 of 100 on an 80-high chart: y 72
    expect(dotYs(html)[0]).toBeCloseTo(72, 5);
  });

  it('auto goes from 0 to the window maximum rounded up, so a value of 42 is not clipped at 100 % or flat', () => {
    const points = heartbeats(2, 5_000).map((p, i) => ({ ...p, custom: { queue: i ? 42 : 21 } }));
    const html = render(points, (p) => p.custom?.queue, autoScale(String));
    expect(axisTop(html)).toBe('50');
    const [low, high] = dotYs(html);
    expect(low).toBeCloseTo(80 - (21 / 50) * 80, 5);
    expect(high).toBeCloseTo(80 - (42 / 50) * 80, 5);
  });

  it('load reads against the core count: 0.5 on 4 cores sits low on a 0–4 axis', () => {
    const points = heartbeats(1, 5_000).map((p) => ({ ...p, load: 0.5 }));
    const html = render(points, (p) => p.load, autoScale(String, 4));
    expect(axisTop(html)).toBe('5');
    expect(dotYs(html)[0]).toBeCloseTo(72, 5);
  });

  it('rates round in KB/s below 1 MB/s and in MB/s above', () => {
    const rate = rateScale(String);
    expect(rate.top(0)).toBe(1024);
    expect(rate.top(200 * 1024)).toBe(200 * 1024);
    expect(rate.top(300 * 1024)).toBe(500 * 1024);
    expect(rate.top(3 * 1024 * 1024)).toBe(5 * 1024 * 1024);
  });

  it('a series the points lack draws nothing and shows no readout', () => {
    const html = render(heartbeats(3, 5_000), (p) => p.load, autoScale(String));
    expect(html).toContain('data-points="0"');
    expect(html).not.toContain('collecting');
  });
});
