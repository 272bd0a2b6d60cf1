/**
 * The agent's one observable state: every part reports here, every host (CLI, Electron, dashboard)
 * reads a snapshot and follows the events. Bounded: old finished tasks, output and metrics roll off.
 */
import { EventEmitter } from 'node:events';

/** typed by the contract: the renderer's bound is the same number, or neither compiles */
export const TASK_OUTPUT_CHARS_KEPT: TaskOutputCharsKept = 262_144;
/**
 * what all tasks' kept output may hold together: many tasks printing at once each keep a share of
 * it (at most TASK_OUTPUT_CHARS_KEPT), so the agent's memory does not grow with the task count
 */
const TASK_OUTPUT_CHARS_TOTAL = 4 * 1024 * 1024;
import type {
  TaskOutputCharsKept,
  AlertView,
  ControlView,
  AgentEvent,
  AgentIdentity,
  AgentLogEntry,
  AgentSnapshot,
  AgentStateSource,
  ConnectionView,
  Counters,
  LogFileProblem,
  MetricsPoint,
  OutputChunk,
  QueueView,
  SystemInfo,
  TaskStatus,
  TaskView,
} from '../api.js';

export const METRICS_WINDOW_MS = 10 * 60 * 1000;
const FINISHED_TASKS_KEPT = 200;
const FINISHED_TASKS_WITH_OUTPUT = 20;
const LOG_ENTRIES_KEPT = 500;

export const ZERO_COUNTERS: Readonly<Counters> = {
  tasksReceived: 0,
  tasksSucceeded: 0,
  tasksFailed: 0,
  tasksErrored: 0,
  tasksTimedOut: 0,
  tasksCancelled: 0,
  heartbeatsSent: 0,
  reconnects: 0,
  invalidFrames: 0,
  logLinesLost: 0,
};

/** the state counter each final status adds to */
export const COUNTER_OF: Record<
  TaskStatus,
  'tasksSucceeded' | 'tasksFailed' | 'tasksErrored' | 'tasksTimedOut' | 'tasksCancelled'
> = {
  success: 'tasksSucceeded',
  failed: 'tasksFailed',
  error: 'tasksErrored',
  timeout: 'tasksTimedOut',
  cancelled: 'tasksCancelled',
};

export class AgentState implements AgentStateSource {
  private readonly events = new EventEmitter<{ event: [AgentEvent] }>();
  private connection: ConnectionView;
  private system: SystemInfo | null = null;
  private metrics: MetricsPoint[] = [];
  private readonly tasks = new Map<string, TaskView>();
  private readonly output = new Map<string, { chunks: OutputChunk[]; chars: number }>();
  private counters: Counters = { ...ZERO_COUNTERS };
  private log: AgentLogEntry[] = [];
  private lastHeartbeatAt: string | null = null;
  private logFileProblem: LogFileProblem | null = null;
  private alerts: AlertView[] = [];
  private control: ControlView = { paused: false, draining: false, ephemeral: false };
  private queue: QueueView = { running: 0, maxConcurrent: 1, tasks: [], total: 0 };
  private outboxProbe: () => { frames: number; bytes: number } = () => ({ frames: 0, bytes: 0 });

  constructor(
    private readonly identity: AgentIdentity,
    connection: ConnectionView,
  ) {
    this.connection = connection;
    this.events.setMaxListeners(0);
  }

  snapshot(): AgentSnapshot {
    return {
      agent: { ...this.identity },
      connection: { ...this.connection },
      system: this.system,
      metrics: [...this.metrics],
      tasks: [...this.tasks.values()].map((t) => ({ ...t })),
      counters: { ...this.counters },
      log: [...this.log],
      lastHeartbeatAt: this.lastHeartbeatAt,
      outbox: this.outboxProbe(),
      logFileProblem: this.logFileProblem && { ...this.logFileProblem },
      alerts: this.alerts.map((a) => ({ ...a })),
      control: { ...this.control },
      queue: this.queue,
    };
  }

  setControl(control: ControlView): void {
    this.control = { ...control };
    this.emit({ type: 'control', control: { ...control } });
  }

  /** Tags reloaded from the config file (they reach the platform with the next auth). */
  setTags(tags: string[]): void {
    this.identity.tags = [...tags];
  }

  /** The scheduler's view of its queue (replaced whole, never changed in place). */
  setQueue(queue: QueueView): void {
    this.queue = queue;
    this.emit({ type: 'queue', queue });
  }

  /** Evaluated with each sample; a UI reads them with the next `metrics` event. */
  setAlerts(alerts: AlertView[]): void {
    this.alerts = alerts;
  }

  /** The outbox changes with every frame: read on demand rather than announced. */
  setOutboxProbe(probe: () => { frames: number; bytes: number }): void {
    this.outboxProbe = probe;
  }

  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  taskOutput(taskId: string): OutputChunk[] {
    return [...(this.output.get(taskId)?.chunks ?? [])];
  }

  /** copies of the tasks held, oldest first */
  taskViews(): TaskView[] {
    return [...this.tasks.values()].map((t) => ({ ...t }));
  }

  task(taskId: string): TaskView | undefined {
    return this.tasks.get(taskId);
  }

  updateConnection(patch: Partial<ConnectionView>): void {
    this.connection = { ...this.connection, ...patch };
    this.emit({ type: 'connection', connection: { ...this.connection } });
  }

  recordHeartbeat(system: SystemInfo, at: Date): void {
    const point: MetricsPoint = {
      at: at.toISOString(),
      cpu: numberOrNull(system.cpu.usage_percent),
      memory: numberOrNull(system.memory.usage_percent),
      disk: numberOrNull(system.disk.usage_percent),
      ...extensionMetrics(system),
    };
    this.system = system;
    this.lastHeartbeatAt = point.at;
    const cutoff = at.getTime() - METRICS_WINDOW_MS;
    this.metrics = this.metrics.filter((p) => Date.parse(p.at) >= cutoff);
    this.metrics.push(point);
    this.emit({ type: 'metrics', point, system, at: point.at, alerts: this.alerts.map((a) => ({ ...a })) });
  }

  upsertTask(task: TaskView): void {
    this.tasks.set(task.taskId, task);
    this.emit({ type: 'task', task: { ...task } });
    // only a finish can put the finished tasks over their bound: a look at every task on every
    // update was 0.1 ms per task in a burst
    if (task.finishedAt !== null) this.trimFinished();
  }

  updateTask(taskId: string, patch: Partial<TaskView>): void {
    const current = this.tasks.get(taskId);
    if (current) this.upsertTask({ ...current, ...patch });
  }

  appendOutput(taskId: string, chunk: OutputChunk): void {
    let kept = this.output.get(taskId);
    if (!kept) this.output.set(taskId, (kept = { chunks: [], chars: 0 }));
    kept.chunks.push(chunk);
    kept.chars += chunk.text.length;
    const share = Math.min(TASK_OUTPUT_CHARS_KEPT, Math.floor(TASK_OUTPUT_CHARS_TOTAL / this.output.size));
    let drop = 0;
    while (kept.chars > share && drop < kept.chunks.length - 1) kept.chars -= kept.chunks[drop++]!.text.length;
    if (drop > 0) kept.chunks.splice(0, drop);
    const task = this.tasks.get(taskId);
    if (task) task.outputSeq = chunk.seq;
    this.emit({ type: 'task-output', taskId, chunk });
  }

  addLog(entry: AgentLogEntry): void {
    this.log.push(entry);
    if (this.log.length > LOG_ENTRIES_KEPT) this.log.splice(0, this.log.length - LOG_ENTRIES_KEPT);
    this.emit({ type: 'log', entry });
  }

  /** What the log reports of agent.log: the problem is announced when it changes, lost lines count. */
  setLogFile(problem: LogFileProblem | null, linesLost: number): void {
    if (linesLost !== this.counters.logLinesLost) this.count('logLinesLost', linesLost - this.counters.logLinesLost);
    if (sameProblem(problem, this.logFileProblem)) return;
    this.logFileProblem = problem && { ...problem };
    this.emit({ type: 'log-file', problem: problem && { ...problem } });
  }

  count(counter: keyof Counters, by = 1): void {
    this.counters = { ...this.counters, [counter]: this.counters[counter] + by };
    this.emit({ type: 'counters', counters: { ...this.counters } });
  }

  private trimFinished(): void {
    const finished = [...this.tasks.values()].filter((t) => t.finishedAt !== null);
    finished.slice(0, Math.max(0, finished.length - FINISHED_TASKS_KEPT)).forEach((t) => this.tasks.delete(t.taskId));
    finished
      .slice(0, Math.max(0, finished.length - FINISHED_TASKS_WITH_OUTPUT))
      .forEach((t) => this.output.delete(t.taskId));
  }

  private emit(event: AgentEvent): void {
    this.events.emit('event', event);
  }
}

function sameProblem(a: LogFileProblem | null, b: LogFileProblem | null): boolean {
  return a === b || (a !== null && b !== null && a.path === b.path && a.message === b.message);
}

function numberOrNull(value: number | string): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** the charted series a heartbeat can carry: never more than this many script values per point */
const CUSTOM_SERIES_MAX = 8;

/** The heartbeat extensions as chart values; a field the heartbeat lacks stays absent (no chart). */
function extensionMetrics(system: SystemInfo): Pick<MetricsPoint, 'load' | 'network' | 'diskIo' | 'custom'> {
  const out: Pick<MetricsPoint, 'load' | 'network' | 'diskIo' | 'custom'> = {};
  const load = system.load_average;
  if (load !== undefined) out.load = load === 'unknown' ? null : numberOrNull(load[0]);
  const net = system.network_io;
  if (net !== undefined) out.network = net === 'unknown' ? null : sumOrNull(net.rx_bytes_per_s, net.tx_bytes_per_s);
  const disk = system.disk_io;
  if (disk !== undefined)
    out.diskIo = disk === 'unknown' ? null : sumOrNull(disk.read_bytes_per_s, disk.write_bytes_per_s);
  const custom = Object.entries(system.custom ?? {}).slice(0, CUSTOM_SERIES_MAX);
  if (custom.length) out.custom = Object.fromEntries(custom.map(([name, v]) => [name, numberOrNull(v)]));
  return out;
}

function sumOrNull(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) ? a + b : null;
}
