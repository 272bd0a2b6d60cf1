import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { MetricsPoint } from '../../../main/core/api.js';
import { LineChart } from './LineChart.js';

const T0 = Date.parse('2026-01-01T10:00:00Z');

function heartbeats(count: number, everyMs: number): MetricsPoint[] {
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(T0 + i * everyMs).toISOString(),
    cpu: 10 + i,
    memory: 50,
    disk: 20,
  }));
}

function render(points: MetricsPoint[]): string {
  const last = points[points.length - 1];
  return renderToStaticMarkup(
    createElement(LineChart, {
      points,
      metric: 'cpu',
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
