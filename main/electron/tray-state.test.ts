import { describe, expect, it } from 'vitest';
import type { AgentEvent, ConnectionPhase, TaskView } from '../core/api.js';
import type { AlertView } from '../core/api.js';
import { AlertNotices, TOOLTIP_MAX, TrayModel, alertNotice, trayStateOf, type TraySnapshot } from './tray-state.js';

function snap(
  phase: ConnectionPhase,
  opts: { running?: number; queued?: number; cpu?: number | null; memory?: number | null; attempt?: number } = {},
): TraySnapshot {
  const tasks = [
    ...Array.from({ length: opts.running ?? 0 }, () => ({ phase: 'running' as const })),
    ...Array.from({ length: opts.queued ?? 0 }, () => ({ phase: 'queued' as const })),
    { phase: 'success' as const },
    { phase: 'failed' as const },
  ];
  const metrics =
    opts.cpu === undefined && opts.memory === undefined
      ? []
      : [
          { cpu: 1, memory: 1 },
          { cpu: opts.cpu ?? null, memory: opts.memory ?? null },
        ];
  return { connection: { phase, attempt: opts.attempt ?? 0 }, tasks, metrics };
}

describe('trayStateOf', () => {
  const expected: Record<ConnectionPhase, 'online' | 'reconnecting' | 'offline'> = {
    online: 'online',
    starting: 'reconnecting',
    connecting: 'reconnecting',
    authenticating: 'reconnecting',
    reconnecting: 'reconnecting',
    unconfigured: 'offline',
    auth_failed: 'offline',
    stopping: 'offline',
    stopped: 'offline',
  };
  for (const [phase, icon] of Object.entries(expected) as Array<[ConnectionPhase, string]>) {
    it(`${phase} (idle) → ${icon}`, () => {
      const state = trayStateOf(snap(phase));
      expect(state.icon).toBe(icon);
      expect(state.tooltip.startsWith('ATS Agent — ')).toBe(true);
    });
  }

  it('connected with running tasks → busy, with count, CPU and memory', () => {
    const state = trayStateOf(snap('online', { running: 2, queued: 3, cpu: 12.5, memory: 48 }));
    expect(state.icon).toBe('busy');
    expect(state.tooltip).toBe('ATS Agent — online · 2 running · CPU 12.5% · Mem 48.0%');
    expect(state.status).toBe('ATS Agent — online · 2 running');
  });

  it('connected and idle → online; queued alone is not busy', () => {
    expect(trayStateOf(snap('online', { queued: 1, cpu: 3, memory: 4 }))).toEqual({
      icon: 'online',
      tooltip: 'ATS Agent — online · CPU 3.0% · Mem 4.0%',
      status: 'ATS Agent — online',
      paused: false,
      draining: false,
    });
  });

  it('running tasks while reconnecting keep the reconnecting icon but are counted', () => {
    const state = trayStateOf(snap('reconnecting', { running: 1, attempt: 3, cpu: 50, memory: 50 }));
    expect(state.icon).toBe('reconnecting');
    expect(state.tooltip).toBe('ATS Agent — reconnecting (attempt 3) · 1 running');
  });

  it('names the states a person must act on', () => {
    expect(trayStateOf(snap('unconfigured')).tooltip).toBe('ATS Agent — not set up');
    expect(trayStateOf(snap('auth_failed')).tooltip).toBe('ATS Agent — token rejected');
    expect(trayStateOf(snap('stopped')).tooltip).toBe('ATS Agent — offline');
  });

  it('leaves out unknown metrics', () => {
    expect(trayStateOf(snap('online', { cpu: null, memory: 20 })).tooltip).toBe('ATS Agent — online · Mem 20.0%');
    expect(trayStateOf(snap('online')).tooltip).toBe('ATS Agent — online');
  });

  it('accepts a full snapshot shape and stays within the Windows tooltip limit', () => {
    const state = trayStateOf(snap('reconnecting', { running: 5000, attempt: 10 ** 21, cpu: 99.99, memory: 99.99 }));
    expect(state.tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
  });
});

describe('TrayModel', () => {
  const task = (taskId: string, phase: TaskView['phase']): AgentEvent => ({
    type: 'task',
    task: { taskId, phase } as TaskView,
  });

  it('follows events without snapshots', () => {
    const m = new TrayModel();
    m.reset({
      connection: { phase: 'connecting', attempt: 0 },
      tasks: [{ taskId: 'a', phase: 'success' }],
      metrics: [],
    });
    expect(m.state().icon).toBe('reconnecting');
    expect(m.apply({ type: 'connection', connection: { phase: 'online', attempt: 0 } as never })).toBe(true);
    expect(m.state().icon).toBe('online');
    m.apply(task('t1', 'queued'));
    m.apply(task('t1', 'running'));
    m.apply(task('t2', 'running'));
    expect(m.state()).toMatchObject({ icon: 'busy', status: 'ATS Agent — online · 2 running' });
    m.apply({ type: 'metrics', point: { at: '', cpu: 10, memory: 20, disk: null }, system: {} as never, at: '' });
    expect(m.state().tooltip).toBe('ATS Agent — online · 2 running · CPU 10.0% · Mem 20.0%');
    m.apply(task('t1', 'success'));
    m.apply(task('t2', 'failed'));
    expect(m.state().icon).toBe('online');
    expect(m.apply(task('unknown', 'cancelled'))).toBe(false);
    expect(m.apply({ type: 'log', entry: { at: '', level: 'info', scope: '', message: '' } })).toBe(false);
  });
});

describe('pause and drain in the tray', () => {
  it('the status says paused or draining, and the state tells the menu which item to offer', () => {
    const model = new TrayModel();
    model.reset({ ...snap('online'), tasks: [] });
    expect(model.state()).toMatchObject({ status: 'ATS Agent — online', paused: false, draining: false });
    expect(model.apply({ type: 'control', control: { paused: true, draining: false, ephemeral: false } })).toBe(true);
    expect(model.state()).toMatchObject({ status: 'ATS Agent — online · paused', paused: true, draining: false });
    model.apply({ type: 'control', control: { paused: true, draining: true, ephemeral: false } });
    expect(model.state()).toMatchObject({ status: 'ATS Agent — online · draining', paused: true, draining: true });
    model.reset({ ...snap('online'), tasks: [], control: { paused: false, draining: false } });
    expect(model.state().paused).toBe(false);
  });
});

describe('AlertNotices', () => {
  const alert = (name: string, state: AlertView['state'], value: number | null = 95): AlertView => ({
    name,
    metric: 'cpu.usage_percent',
    threshold: 90,
    state,
    value,
    since: null,
  });

  it('tells each change to firing once; again only after it resolved', () => {
    const n = new AlertNotices();
    expect(n.newlyFiring(undefined)).toEqual([]);
    expect(n.newlyFiring([alert('hot', 'ok')])).toEqual([]);
    expect(n.newlyFiring([alert('hot', 'firing'), alert('full', 'ok')]).map((a) => a.name)).toEqual(['hot']);
    expect(n.newlyFiring([alert('hot', 'firing'), alert('full', 'firing')]).map((a) => a.name)).toEqual(['full']);
    expect(n.newlyFiring([alert('hot', 'ok'), alert('full', 'firing')])).toEqual([]);
    expect(n.newlyFiring([alert('hot', 'firing'), alert('full', 'firing')]).map((a) => a.name)).toEqual(['hot']);
  });

  it('after a reset, what already fires is not news', () => {
    const n = new AlertNotices();
    n.reset([alert('hot', 'firing')]);
    expect(n.newlyFiring([alert('hot', 'firing')])).toEqual([]);
  });

  it('the text names the alert, the metric, its value and the threshold', () => {
    expect(alertNotice(alert('hot', 'firing', 97.5))).toEqual({
      title: 'Alert hot firing',
      body: 'cpu.usage_percent = 97.5 (above 90)',
    });
  });
});
