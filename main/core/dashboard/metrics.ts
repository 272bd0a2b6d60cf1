/**
 * Prometheus metrics of one agent, on a registry of their own (never prom-client's global one, so
 * that two agents or a test never share series). Gauges are read from the state's snapshot at scrape
 * time; the task duration histogram is fed from the state's events.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentEvent, AgentSnapshot, AgentStateSource, ConnectionPhase, TaskPhase, TaskStatus } from '../api.js';
import { COUNTER_OF } from '../state/agent-state.js';
import { registerMonitorGauges } from './monitor-metrics.js';
import { registerUsageHistograms } from './usage-metrics.js';

export const CONNECTION_PHASES: readonly ConnectionPhase[] = [
  'unconfigured',
  'starting',
  'connecting',
  'authenticating',
  'online',
  'reconnecting',
  'auth_failed',
  'stopping',
  'stopped',
];
export const TASK_STATUSES: readonly TaskStatus[] = ['success', 'failed', 'error', 'timeout', 'cancelled'];
const TASK_PHASES: readonly TaskPhase[] = ['queued', 'running', ...TASK_STATUSES];
/** task ids whose duration was observed, so that a repeated `task` event counts once */
const OBSERVED_KEPT = 1000;

export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: () => void;
  private readonly observed = new Set<string>();
  /** counter values already added to the Prometheus counters (the state's counters only grow) */
  private readonly counted = new Map<string, number>();
  private scrape: AgentSnapshot | null = null;

  constructor(private readonly source: AgentStateSource) {
    const registers = [this.registry];
    const snapshot = () => this.scrape ?? this.source.snapshot();
    const newSince = (key: string, value: number) => this.delta(key, value);

    new Gauge({
      name: 'ats_agent_info',
      help: 'Constant 1, labelled with the agent version and mode.',
      labelNames: ['version', 'mode'],
      registers,
      collect() {
        const { agent } = snapshot();
        this.reset();
        this.set({ version: agent.version, mode: agent.mode }, 1);
      },
    });
    new Gauge({
      name: 'ats_agent_connection_state',
      help: 'Connection phase to the platform: 1 for the current phase, 0 for the others.',
      labelNames: ['phase'],
      registers,
      collect() {
        const { phase } = snapshot().connection;
        for (const p of CONNECTION_PHASES) this.set({ phase: p }, p === phase ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ats_agent_connected',
      help: '1 while the agent is authenticated with the platform, else 0.',
      registers,
      collect() {
        this.set(snapshot().connection.phase === 'online' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ats_agent_tasks',
      help: 'Tasks the agent currently knows, by phase (finished ones are the most recent it keeps).',
      labelNames: ['phase'],
      registers,
      collect() {
        const counts = new Map<TaskPhase, number>(TASK_PHASES.map((p) => [p, 0]));
        for (const t of snapshot().tasks) counts.set(t.phase, (counts.get(t.phase) ?? 0) + 1);
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    new Gauge({
      name: 'ats_agent_heartbeat_age_seconds',
      help: 'Seconds since the last heartbeat sent to the platform (since the agent started, before the first one).',
      registers,
      collect() {
        const s = snapshot();
        const since = Date.parse(s.lastHeartbeatAt ?? s.agent.startedAt);
        this.set(Number.isFinite(since) ? Math.max(0, (Date.now() - since) / 1000) : Number.NaN);
      },
    });
    new Gauge({
      name: 'ats_agent_outbox_frames',
      help: 'task_log / task_result frames not yet confirmed by the platform.',
      registers,
      collect() {
        this.set(snapshot().outbox.frames);
      },
    });
    new Gauge({
      name: 'ats_agent_outbox_bytes',
      help: 'Size of the frames not yet confirmed by the platform.',
      registers,
      collect() {
        this.set(snapshot().outbox.bytes);
      },
    });
    new Counter({
      name: 'ats_agent_tasks_total',
      help: 'Tasks finished since the agent started, by final status.',
      labelNames: ['status'],
      registers,
      collect() {
        const { counters } = snapshot();
        for (const status of TASK_STATUSES) {
          const delta = newSince(`tasks:${status}`, counters[COUNTER_OF[status]]);
          this.inc({ status }, delta);
        }
      },
    });
    new Counter({
      name: 'ats_agent_reconnects_total',
      help: 'Successful reconnections to the platform after the first connection.',
      registers,
      collect() {
        this.inc(newSince('reconnects', snapshot().counters.reconnects));
      },
    });
    new Counter({
      name: 'ats_agent_log_lines_lost_total',
      help: 'Agent log lines that could not be written to agent.log (the UI and stderr still got them).',
      registers,
      collect() {
        this.inc(newSince('logLinesLost', snapshot().counters.logLinesLost));
      },
    });
    new Gauge({
      name: 'ats_agent_log_file_writable',
      help: '1 while agent.log is written, 0 while its lines cannot be written there.',
      registers,
      collect() {
        this.set(snapshot().logFileProblem ? 0 : 1);
      },
    });
    const duration = new Histogram({
      name: 'ats_agent_task_duration_seconds',
      help: 'Run time of finished tasks, by final status.',
      labelNames: ['status'],
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200],
      registers,
    });
    for (const status of TASK_STATUSES) duration.zero({ status });
    registerMonitorGauges(registers, snapshot);
    const observeUsage = registerUsageHistograms(registers);
    collectDefaultMetrics({ register: this.registry });

    const onEvent = (event: AgentEvent) => {
      if (event.type !== 'task') return;
      const { task } = event;
      if (task.finishedAt === null || task.duration === null || this.observed.has(task.taskId)) return;
      if (!(TASK_STATUSES as readonly string[]).includes(task.phase)) return;
      this.observed.add(task.taskId);
      if (this.observed.size > OBSERVED_KEPT) this.observed.delete(this.observed.values().next().value!);
      duration.observe({ status: task.phase }, Math.max(0, task.duration));
      if (task.usage) observeUsage(task.phase, task.usage);
    };
    this.unsubscribe = source.subscribe(onEvent);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One snapshot per scrape, shared by every collector. */
  async render(): Promise<string> {
    this.scrape = this.source.snapshot();
    try {
      return await this.registry.metrics();
    } finally {
      this.scrape = null;
    }
  }

  /** Stops following the state. */
  close(): void {
    this.unsubscribe();
  }

  /** How much a monotonic state counter grew since the last scrape (all of it after a reset to a lower value). */
  private delta(key: string, value: number): number {
    const before = this.counted.get(key) ?? 0;
    this.counted.set(key, value);
    return value >= before ? value - before : value;
  }
}
