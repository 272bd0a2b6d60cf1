/**
 * The UI's copy of the agent state: the snapshot, kept current by events. Task output is not kept
 * here (it can be large): `onTaskOutput` routes `task-output` events to whoever shows that task.
 */
import type {
  AgentEvent,
  AgentLogEntry,
  AgentSnapshot,
  MetricsPoint,
  OutputChunk,
  TaskView,
} from '../../../main/core/api.js';
import type { AgentConnection, TransportState } from '../api/index.js';
import { AccessDeniedError } from '../api/index.js';

export interface AgentState {
  snapshot: AgentSnapshot | null;
  loadError: string | null;
  transport: TransportState;
}

export const METRICS_WINDOW_MS = 10 * 60 * 1000;
const MAX_LOG = 1000;
const MAX_FINISHED_TASKS = 200;

const ACTIVE = new Set(['queued', 'running']);

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function trimMetrics(points: MetricsPoint[]): MetricsPoint[] {
  if (points.length === 0) return points;
  const latest = Date.parse(points[points.length - 1]!.at);
  const from = latest - METRICS_WINDOW_MS;
  let i = 0;
  while (i < points.length && Date.parse(points[i]!.at) < from) i++;
  return i === 0 ? points : points.slice(i);
}

function upsertTask(tasks: TaskView[], task: TaskView): TaskView[] {
  const i = tasks.findIndex((t) => t.taskId === task.taskId);
  let next: TaskView[];
  if (i >= 0) {
    next = tasks.slice();
    next[i] = task;
  } else {
    next = [...tasks, task];
  }
  const finished = next.filter((t) => !ACTIVE.has(t.phase));
  if (finished.length > MAX_FINISHED_TASKS) {
    const drop = new Set(finished.slice(0, finished.length - MAX_FINISHED_TASKS).map((t) => t.taskId));
    next = next.filter((t) => !drop.has(t.taskId));
  }
  return next;
}

const sameEntry = (a: AgentLogEntry, b: AgentLogEntry) =>
  a.at === b.at && a.message === b.message && a.scope === b.scope;

/** Applies one event to a snapshot (pure). */
export function applyEvent(snap: AgentSnapshot, event: AgentEvent, replayed = false): AgentSnapshot {
  switch (event.type) {
    case 'connection':
      return { ...snap, connection: event.connection };
    case 'metrics': {
      const alerts = event.alerts ?? snap.alerts;
      if (snap.metrics.some((p) => p.at === event.point.at)) return { ...snap, system: event.system, alerts };
      return {
        ...snap,
        system: event.system,
        alerts,
        lastHeartbeatAt: event.at,
        metrics: trimMetrics([...snap.metrics, event.point]),
      };
    }
    case 'task':
      return { ...snap, tasks: upsertTask(snap.tasks, event.task) };
    case 'log': {
      // events that raced the snapshot may already be in it
      if (replayed && snap.log.slice(-50).some((e) => sameEntry(e, event.entry))) return snap;
      const log =
        snap.log.length >= MAX_LOG
          ? [...snap.log.slice(snap.log.length - MAX_LOG + 1), event.entry]
          : [...snap.log, event.entry];
      return { ...snap, log };
    }
    case 'counters':
      return { ...snap, counters: event.counters };
    case 'log-file':
      return { ...snap, logFileProblem: event.problem };
    case 'control':
      return { ...snap, control: event.control };
    case 'queue':
      return { ...snap, queue: event.queue };
    case 'task-output':
    case 'reset':
      return snap;
  }
}

export class AgentStore {
  private state: AgentState;
  private readonly listeners = new Set<() => void>();
  private readonly outputListeners = new Map<string, Set<(chunk: OutputChunk) => void>>();
  private readonly resetListeners = new Set<() => void>();
  private unsubscribe: (() => void) | null = null;
  private unsubscribeTransport: (() => void) | null = null;
  /** events that arrived while a snapshot was on its way */
  private pendingEvents: AgentEvent[] | null = null;
  private generation = 0;

  constructor(private readonly conn: AgentConnection) {
    this.state = { snapshot: null, loadError: null, transport: conn.transport.state() };
  }

  get api() {
    return this.conn.api;
  }

  get transport() {
    return this.conn.transport;
  }

  getState = (): AgentState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  onTaskOutput(taskId: string, listener: (chunk: OutputChunk) => void): () => void {
    let set = this.outputListeners.get(taskId);
    if (!set) this.outputListeners.set(taskId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.outputListeners.delete(taskId);
    };
  }

  /** fires when the agent was replaced or the link came back: whatever was fetched is stale */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => {
      this.resetListeners.delete(listener);
    };
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.conn.api.subscribe((event) => this.handle(event));
    this.unsubscribeTransport = this.conn.transport.onState((transport) => {
      if (transport !== 'denied') return this.set({ transport });
      // a refused key may mean another agent on the same port: nothing of the previous one stays on screen
      this.generation++;
      this.pendingEvents = null;
      this.set({ transport, snapshot: null, loadError: null });
    });
    this.refresh();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribeTransport?.();
    this.unsubscribe = this.unsubscribeTransport = null;
  }

  refresh(): void {
    const gen = ++this.generation;
    this.pendingEvents = [];
    this.conn.api.getSnapshot().then(
      (snapshot) => {
        if (gen !== this.generation) return;
        let snap = { ...snapshot, metrics: trimMetrics(snapshot.metrics) };
        for (const e of this.pendingEvents ?? []) snap = applyEvent(snap, e, true);
        this.pendingEvents = null;
        this.set({ snapshot: snap, loadError: null });
      },
      (err: unknown) => {
        if (gen !== this.generation) return;
        this.pendingEvents = null;
        // a dropped dashboard link refetches by itself on reconnect; say so only when it matters
        if (err instanceof AccessDeniedError) return;
        this.set({ loadError: errorText(err) });
      },
    );
  }

  private handle(event: AgentEvent): void {
    if (event.type === 'task-output') {
      const set = this.outputListeners.get(event.taskId);
      if (set) for (const l of [...set]) l(event.chunk);
      return;
    }
    if (event.type === 'reset') {
      this.refresh();
      for (const l of [...this.resetListeners]) l();
      return;
    }
    if (this.pendingEvents) {
      this.pendingEvents.push(event);
      return;
    }
    const snap = this.state.snapshot;
    if (snap) this.set({ snapshot: applyEvent(snap, event) });
  }

  private set(patch: Partial<AgentState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of [...this.listeners]) l();
  }
}
