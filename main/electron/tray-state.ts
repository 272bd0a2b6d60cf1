/**
 * What the tray shows for a state of the agent: one of four icons and a tooltip. Pure (NO electron)
 * so that the mapping unit-tests in Node; `tray.ts` turns it into images.
 */
import type {
  AgentEvent,
  AgentSnapshot,
  AlertView,
  ConnectionPhase,
  ControlView,
  MetricsPoint,
  TaskView,
} from '../core/api.js';

export type TrayIcon = 'online' | 'busy' | 'reconnecting' | 'offline';
export const TRAY_ICONS: readonly TrayIcon[] = ['online', 'busy', 'reconnecting', 'offline'];

export interface TrayState {
  icon: TrayIcon;
  tooltip: string;
  /** the tooltip without the metrics: the menu's first line (AppIndicator shows no tooltip) */
  status: string;
  /** the menu offers Resume instead of Pause */
  paused: boolean;
  /** neither Pause nor Resume: the agent exits once nothing runs */
  draining: boolean;
}

/** The part of a snapshot the tray needs; a full AgentSnapshot fits. */
export interface TraySnapshot {
  connection: Pick<AgentSnapshot['connection'], 'phase' | 'attempt'>;
  tasks: ReadonlyArray<Pick<TaskView, 'phase'>>;
  metrics: ReadonlyArray<Pick<MetricsPoint, 'cpu' | 'memory'>>;
  control?: Pick<ControlView, 'paused' | 'draining'>;
}

const PRODUCT = 'ATS Agent';
/** Windows truncates tray tooltips at 127 characters */
export const TOOLTIP_MAX = 127;

const ICON_OF: Record<ConnectionPhase, TrayIcon | 'connected'> = {
  online: 'connected',
  starting: 'reconnecting',
  connecting: 'reconnecting',
  authenticating: 'reconnecting',
  reconnecting: 'reconnecting',
  unconfigured: 'offline',
  auth_failed: 'offline',
  stopping: 'offline',
  stopped: 'offline',
};

const LABEL_OF: Record<ConnectionPhase, string> = {
  online: 'online',
  starting: 'starting',
  connecting: 'connecting',
  authenticating: 'authenticating',
  reconnecting: 'reconnecting',
  unconfigured: 'not set up',
  auth_failed: 'token rejected',
  stopping: 'stopping',
  stopped: 'offline',
};

export function runningCount(snapshot: Pick<TraySnapshot, 'tasks'>): number {
  return snapshot.tasks.reduce((n, t) => n + (t.phase === 'running' ? 1 : 0), 0);
}

export function trayStateOf(snapshot: TraySnapshot): TrayState {
  const { phase, attempt } = snapshot.connection;
  const running = runningCount(snapshot);
  const mapped = ICON_OF[phase] ?? 'offline';
  const icon: TrayIcon = mapped === 'connected' ? (running > 0 ? 'busy' : 'online') : mapped;
  const parts = [
    `${PRODUCT} — ${LABEL_OF[phase] ?? phase}${phase === 'reconnecting' && attempt > 0 ? ` (attempt ${attempt})` : ''}`,
  ];
  if (snapshot.control?.draining) parts.push('draining');
  else if (snapshot.control?.paused) parts.push('paused');
  if (running > 0) parts.push(`${running} running`);
  const status = parts.join(' · ');
  const last = snapshot.metrics[snapshot.metrics.length - 1];
  // metrics describe the machine, but only while connected are they fresh
  if (last && phase === 'online') {
    if (typeof last.cpu === 'number') parts.push(`CPU ${last.cpu.toFixed(1)}%`);
    if (typeof last.memory === 'number') parts.push(`Mem ${last.memory.toFixed(1)}%`);
  }
  const tooltip = parts.join(' · ');
  return {
    icon,
    tooltip: tooltip.length > TOOLTIP_MAX ? `${tooltip.slice(0, TOOLTIP_MAX - 1)}…` : tooltip,
    status,
    paused: snapshot.control?.paused ?? false,
    draining: snapshot.control?.draining ?? false,
  };
}

/**
 * A small model of what the tray shows, kept up to date from events so that the tray never copies a
 * whole snapshot (tasks, log, metrics) on every heartbeat.
 */
export class TrayModel implements TraySnapshot {
  connection: TraySnapshot['connection'] = { phase: 'starting', attempt: 0 };
  control: NonNullable<TraySnapshot['control']> = { paused: false, draining: false };
  private readonly phases = new Map<string, TaskView['phase']>();
  private last: Pick<MetricsPoint, 'cpu' | 'memory'> | null = null;

  get tasks(): ReadonlyArray<Pick<TaskView, 'phase'>> {
    return [...this.phases.values()].map((phase) => ({ phase }));
  }

  get metrics(): ReadonlyArray<Pick<MetricsPoint, 'cpu' | 'memory'>> {
    return this.last ? [this.last] : [];
  }

  reset(snapshot: Omit<TraySnapshot, 'tasks'> & { tasks: ReadonlyArray<Pick<TaskView, 'phase' | 'taskId'>> }): void {
    this.connection = { phase: snapshot.connection.phase, attempt: snapshot.connection.attempt };
    this.control = { paused: snapshot.control?.paused ?? false, draining: snapshot.control?.draining ?? false };
    this.phases.clear();
    for (const t of snapshot.tasks)
      if (t.phase === 'queued' || t.phase === 'running') this.phases.set(t.taskId, t.phase);
    this.last = snapshot.metrics[snapshot.metrics.length - 1] ?? null;
  }

  /** @returns whether the tray may show something else now */
  apply(event: AgentEvent): boolean {
    switch (event.type) {
      case 'connection':
        this.connection = { phase: event.connection.phase, attempt: event.connection.attempt };
        return true;
      case 'task':
        if (event.task.phase === 'queued' || event.task.phase === 'running')
          this.phases.set(event.task.taskId, event.task.phase);
        else if (!this.phases.delete(event.task.taskId)) return false;
        return true;
      case 'metrics':
        this.last = { cpu: event.point.cpu, memory: event.point.memory };
        return true;
      case 'control':
        this.control = { paused: event.control.paused, draining: event.control.draining };
        return true;
      default:
        return false;
    }
  }

  state(): TrayState {
    return trayStateOf(this);
  }
}

/**
 * Which alerts just began to fire, from the alert list each heartbeat carries: one notification per
 * change to firing, none while it goes on firing, again after it resolved and fired anew.
 */
export class AlertNotices {
  private firing = new Set<string>();

  newlyFiring(alerts: readonly AlertView[] | undefined): AlertView[] {
    if (!alerts) return [];
    const now = new Set(alerts.filter((a) => a.state === 'firing').map((a) => a.name));
    const fresh = alerts.filter((a) => a.state === 'firing' && !this.firing.has(a.name));
    this.firing = now;
    return fresh;
  }

  /** after a reset (a new agent): what fires already was notified by the old one, or is news */
  reset(alerts: readonly AlertView[] | undefined): void {
    this.firing = new Set((alerts ?? []).filter((a) => a.state === 'firing').map((a) => a.name));
  }
}

/** The notification's text for a firing alert. */
export function alertNotice(alert: AlertView): { title: string; body: string } {
  return {
    title: `Alert ${alert.name} firing`,
    body: `${alert.metric} = ${alert.value ?? 'unknown'} (above ${alert.threshold})`,
  };
}
