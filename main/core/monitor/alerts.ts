/**
 * monitor.alerts: a threshold on one metric, with hysteresis in time. The state changes only once
 * the opposite condition has held for `for` seconds on every evaluation (one dip resets the wait), so
 * a metric hovering at its threshold does not flap. An "unknown" value is no evidence either way: it
 * neither fires nor resolves an alert, and it restarts the wait.
 */
import type { AlertFrame, SystemInfo } from '../protocol/frames.js';

export type { AlertFrame };

export interface AlertSpec {
  name: string;
  metric: string;
  above: number;
  /** seconds */
  for: number;
}

/** What a UI and /metrics show of one alert. */
export interface AlertView {
  name: string;
  metric: string;
  threshold: number;
  state: 'ok' | 'firing';
  /** the value of the last change of state, or null before the first */
  value: number | null;
  /** when the state last changed, or null before the first */
  since: string | null;
}

interface Tracked {
  spec: AlertSpec;
  firing: boolean;
  /** since when the condition has disagreed with the state, on every evaluation */
  pendingSince: number | null;
  value: number | null;
  since: string | null;
}

export class AlertEvaluator {
  private readonly alerts: Tracked[];

  constructor(specs: readonly AlertSpec[]) {
    this.alerts = specs.map((spec) => ({ spec, firing: false, pendingSince: null, value: null, since: null }));
  }

  /** One evaluation at `nowMs`; returns a frame per change of state. */
  evaluate(read: (metric: string) => number | 'unknown', nowMs: number): AlertFrame[] {
    const changes: AlertFrame[] = [];
    for (const a of this.alerts) {
      const value = read(a.spec.metric);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        a.pendingSince = null;
        continue;
      }
      const above = value > a.spec.above;
      if (above === a.firing) {
        a.pendingSince = null;
        continue;
      }
      a.pendingSince ??= nowMs;
      if (nowMs - a.pendingSince < a.spec.for * 1000) continue;
      a.firing = above;
      a.pendingSince = null;
      a.value = value;
      a.since = new Date(nowMs).toISOString();
      changes.push({
        type: 'alert',
        name: a.spec.name,
        metric: a.spec.metric,
        value,
        threshold: a.spec.above,
        state: above ? 'firing' : 'resolved',
        timestamp: a.since,
      });
    }
    return changes;
  }

  views(): AlertView[] {
    return this.alerts.map((a) => ({
      name: a.spec.name,
      metric: a.spec.metric,
      threshold: a.spec.above,
      state: a.firing ? 'firing' : 'ok',
      value: a.value,
      since: a.since,
    }));
  }
}

/** A metric name of monitor.alerts, read from one sample. */
export function metricOf(system: SystemInfo, metric: string): number | 'unknown' {
  const v =
    metric === 'cpu.usage_percent'
      ? system.cpu.usage_percent
      : metric === 'memory.usage_percent'
        ? system.memory.usage_percent
        : metric === 'disk.usage_percent'
          ? system.disk.usage_percent
          : metric.startsWith('custom.')
            ? system.custom?.[metric.slice('custom.'.length)]
            : undefined;
  return typeof v === 'number' ? v : 'unknown';
}
