import { describe, expect, it } from 'vitest';
import { AlertEvaluator, metricOf, type AlertFrame } from './alerts.js';
import type { SystemInfo } from '../protocol/frames.js';

/** Feeds one value per second (the fake clock) and returns the frames with the second they came at. */
function run(evaluator: AlertEvaluator, values: Array<number | 'unknown'>) {
  const out: Array<{ t: number; state: AlertFrame['state']; value: number }> = [];
  values.forEach((v, t) => {
    for (const f of evaluator.evaluate(() => v, t * 1000)) out.push({ t, state: f.state, value: f.value });
  });
  return out;
}

const spec = { name: 'hot', metric: 'cpu.usage_percent', above: 90, for: 3 };

describe('AlertEvaluator', () => {
  it('fires once the condition held for `for` seconds, resolves the same way, with a frame per change', () => {
    const e = new AlertEvaluator([spec]);
    expect(run(e, [95, 95, 95, 95, 95, 10, 10, 10, 10])).toEqual([
      { t: 3, state: 'firing', value: 95 },
      { t: 8, state: 'resolved', value: 10 },
    ]);
  });

  it('does not flap on a metric hovering around the threshold', () => {
    const e = new AlertEvaluator([spec]);
    expect(run(e, [95, 95, 80, 95, 95, 95, 80, 95, 80, 95, 95])).toEqual([]);
    expect(e.views()[0]).toMatchObject({ state: 'ok', value: null, since: null });
  });

  it('with for 0 changes on the first evaluation; equal to the threshold is not above it', () => {
    const e = new AlertEvaluator([{ ...spec, for: 0 }]);
    expect(run(e, [90, 91, 90])).toEqual([
      { t: 1, state: 'firing', value: 91 },
      { t: 2, state: 'resolved', value: 90 },
    ]);
  });

  it('"unknown" neither fires nor resolves, and restarts the wait', () => {
    const e = new AlertEvaluator([{ ...spec, metric: 'custom.q' }]);
    // firing at t=3; then unknown for a long time: still firing, no resolved frame
    expect(run(e, [95, 95, 95, 95, 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'])).toEqual([
      { t: 3, state: 'firing', value: 95 },
    ]);
    expect(e.views()[0]!.state).toBe('firing');
    const fresh = new AlertEvaluator([{ ...spec, metric: 'custom.q' }]);
    expect(run(fresh, [95, 95, 'unknown', 95, 95, 'unknown', 95])).toEqual([]);
    expect(run(new AlertEvaluator([spec]), ['unknown', 'unknown', 'unknown', 'unknown', 'unknown'])).toEqual([]);
  });

  it('builds the frame PROTOCOL.md names', () => {
    const e = new AlertEvaluator([{ ...spec, for: 0 }]);
    const [frame] = e.evaluate(() => 97.5, Date.parse('2026-01-01T00:00:00Z'));
    expect(frame).toEqual({
      type: 'alert',
      name: 'hot',
      metric: 'cpu.usage_percent',
      value: 97.5,
      threshold: 90,
      state: 'firing',
      timestamp: '2026-01-01T00:00:00.000Z',
    });
    expect(e.views()).toEqual([
      {
        name: 'hot',
        metric: 'cpu.usage_percent',
        threshold: 90,
        state: 'firing',
        value: 97.5,
        since: '2026-01-01T00:00:00.000Z',
      },
    ]);
  });
});

describe('metricOf', () => {
  const system = {
    cpu: { usage_percent: 12 },
    memory: { usage_percent: 'unknown' },
    disk: { usage_percent: 50 },
    custom: { q: 3, s: 'text', u: 'unknown' },
  } as unknown as SystemInfo;
  it.each<[string, number | 'unknown']>([
    ['cpu.usage_percent', 12],
    ['memory.usage_percent', 'unknown'],
    ['disk.usage_percent', 50],
    ['custom.q', 3],
    ['custom.s', 'unknown'],
    ['custom.u', 'unknown'],
    ['custom.missing', 'unknown'],
  ])('%s → %j', (metric, value) => expect(metricOf(system, metric)).toBe(value));
});
