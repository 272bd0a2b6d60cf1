/**
 * The one contract between the agent and any UI: a state snapshot, change events and commands.
 * Types, and the limits both sides keep to: imported by the core, the preload bridge, the dashboard
 * transport and the renderer.
 */
import type { AlertView } from './monitor/alerts.js';
import type { LimitsApplied, LogStream, SystemInfo, TaskStatus, TaskUsage, TestReport } from './protocol/frames.js';

export type { AlertView, LimitsApplied, LogStream, SystemInfo, TaskStatus, TaskUsage, TestReport };

export type ConnectionPhase =
  /** desktop first run: no token yet, the window shows the setup form */
  | 'unconfigured'
  | 'starting'
  | 'connecting'
  | 'authenticating'
  | 'online'
  | 'reconnecting'
  | 'auth_failed'
  | 'stopping'
  | 'stopped';

export interface AgentErrorView {
  code: string;
  message: string;
  at: string;
}

export interface ConnectionView {
  phase: ConnectionPhase;
  /** the server URL without the token */
  serverUrl: string;
  environmentId: string | null;
  workDir: string;
  connectedSince: string | null;
  /** when the next connection attempt starts, while reconnecting */
  nextAttemptAt: string | null;
  /** failed attempts in a row */
  attempt: number;
  lastError: AgentErrorView | null;
}

/** One heartbeat, reduced to what the charts draw. */
export interface MetricsPoint {
  at: string;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  /** extension: the 1-minute load average, where the heartbeat carries load_average (null: unknown) */
  load?: number | null;
  /** extension: network rx + tx bytes/s, where the heartbeat carries network_io */
  network?: number | null;
  /** extension: disk read + write bytes/s, where the heartbeat carries disk_io */
  diskIo?: number | null;
  /** extension: monitor.scripts values by name (null: unknown or not a number), at most 8 */
  custom?: Record<string, number | null>;
}

export type TaskPhase = 'queued' | 'running' | TaskStatus;

export interface TaskView {
  taskId: string;
  command: string;
  phase: TaskPhase;
  workDir: string;
  receivedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** seconds, once finished */
  duration: number | null;
  exitCode: number | null;
  signal: string | null;
  errorCode: string | null;
  /** the agent's own error text (spawn failure, refused work dir...) */
  error: string | null;
  pid: number | null;
  /** output chunks so far (the last `seq`) */
  outputSeq: number;
  /** extension (PROTOCOL.md second round): the frame's priority (0 when it has none) */
  priority?: number;
  /** extension: the task_ids this task waits for, as the frame named them */
  dependsOn?: string[];
  /** extension: the finished task's task_result.usage */
  usage?: TaskUsage | null;
  /** extension: task_result.test_report, when the task named test_reports */
  testReport?: TestReport | null;
  /** extension: task_result.limits_applied, when the task had limits */
  limitsApplied?: LimitsApplied | null;
}

/** Why a queued task has not started (the queue view): the agent decides, a UI only words it. */
export type QueueWait =
  /** the first to start: every slot of max_concurrent is taken */
  | { kind: 'capacity'; running: number; maxConcurrent: number }
  /** `ahead` tasks start before it, `higher` of them because of a higher priority */
  | { kind: 'behind'; ahead: number; higher: number }
  /** depends_on tasks without a result yet; `notReceived` of them the agent has never seen */
  | { kind: 'dependencies'; waitingFor: string[]; notReceived: string[] };

export interface QueuedTaskView {
  taskId: string;
  priority: number;
  wait: QueueWait;
}

/** The queue in start order (the tasks free to start, then those waiting for dependencies). */
export interface QueueView {
  running: number;
  maxConcurrent: number;
  /** at most the first QueueViewKept */
  tasks: QueuedTaskView[];
  /** queued tasks in all, also those past the bound */
  total: number;
}

/** the most queued tasks a queue view lists */
export type QueueViewKept = 1_000;

/**
 * Per task, in UTF-16 units: the most output core keeps for a UI, and the most a UI holds of the task
 * it follows. The whole output is in the task's log file.
 */
export type TaskOutputCharsKept = 262_144;

export interface OutputChunk {
  seq: number;
  stream: LogStream;
  /** whole lines joined by "\n", without the last newline */
  text: string;
  /** the last line has no newline yet: the stream's next chunk continues it */
  partial?: true;
  at: string;
}

export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AgentLogEntry {
  at: string;
  level: AgentLogLevel;
  scope: string;
  message: string;
}

export interface Counters {
  tasksReceived: number;
  tasksSucceeded: number;
  tasksFailed: number;
  tasksErrored: number;
  tasksTimedOut: number;
  tasksCancelled: number;
  heartbeatsSent: number;
  reconnects: number;
  invalidFrames: number;
  /** agent log lines that could not be written to agent.log (they still reached the UI and stderr) */
  logLinesLost: number;
}

/** agent.log cannot be written: the agent goes on, its lines reach only the UI (and stderr) until it can. */
export interface LogFileProblem {
  path: string;
  /** why the last line could not be written */
  message: string;
  /** when the first line failed */
  since: string;
}

export interface AgentIdentity {
  version: string;
  agentId: string;
  mode: 'gui' | 'headless';
  hostname: string;
  pid: number;
  startedAt: string;
  /** tasks run as root: the state shows it so that a person can see it */
  runningAsRoot: boolean;
  /** extension: auth.agent_info.tags (configured plus os: and arch:) */
  tags?: string[];
}

export interface AgentSnapshot {
  agent: AgentIdentity;
  connection: ConnectionView;
  system: SystemInfo | null;
  /** the last 10 minutes of heartbeats */
  metrics: MetricsPoint[];
  /** queued, running and the most recent finished tasks, oldest first */
  tasks: TaskView[];
  counters: Counters;
  /** the latest agent log lines */
  log: AgentLogEntry[];
  /** time of the last heartbeat sent */
  lastHeartbeatAt: string | null;
  /** task_log / task_result frames not yet confirmed by the platform */
  outbox: { frames: number; bytes: number };
  /** set while agent.log cannot be written (absent where no agent runs yet) */
  logFileProblem?: LogFileProblem | null;
  /** extension: monitor.alerts and their state */
  alerts?: AlertView[];
  /** extension: pause, drain, ephemeral (absent where no agent runs yet) */
  control?: ControlView;
  /** extension: the queue, and why each queued task waits */
  queue?: QueueView;
}

/** Pause, drain and ephemeral (run-control.ts). */
export interface ControlView {
  /** no queued task starts (paused, or draining) */
  paused: boolean;
  /** the agent exits once nothing runs */
  draining: boolean;
  /** started with --ephemeral: one task, then it drains */
  ephemeral: boolean;
}

export type AgentEvent =
  | { type: 'connection'; connection: ConnectionView }
  | { type: 'metrics'; point: MetricsPoint; system: SystemInfo; at: string; alerts?: AlertView[] }
  | { type: 'task'; task: TaskView }
  | { type: 'task-output'; taskId: string; chunk: OutputChunk }
  | { type: 'log'; entry: AgentLogEntry }
  | { type: 'counters'; counters: Counters }
  | { type: 'log-file'; problem: LogFileProblem | null }
  | { type: 'control'; control: ControlView }
  /** the queue changed (coalesced: at most a few a second) */
  | { type: 'queue'; queue: QueueView }
  /** the host replaced the agent (new settings): fetch a new snapshot */
  | { type: 'reset' };

export interface CommandResult {
  ok: boolean;
  message?: string;
}

/** Read-only view of the state, as the core offers it to a host. */
export interface AgentStateSource {
  snapshot(): AgentSnapshot;
  subscribe(listener: (event: AgentEvent) => void): () => void;
  taskOutput(taskId: string): OutputChunk[];
}

/** Where the token is kept, so that the UI can say so (plain text is worth a warning). */
export type TokenStorage = 'keyring' | 'plaintext' | 'file' | 'environment' | 'command-line';

export interface SettingsView {
  serverUrl: string;
  workDir: string;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  maxConcurrent: number;
  keepTasks: number;
  keepDays: number;
  /** desktop only */
  notifyOnFailure: boolean | null;
  /** desktop only */
  startAtLogin: boolean | null;
  /** desktop only: why the last change of start at login failed (null once one succeeds) */
  startAtLoginError?: string | null;
  tokenStorage: TokenStorage;
  /** false where settings come from a config file and flags (headless) */
  editable: boolean;
}

export type SettingsPatch = Partial<
  Pick<
    SettingsView,
    | 'serverUrl'
    | 'workDir'
    | 'logLevel'
    | 'maxConcurrent'
    | 'keepTasks'
    | 'keepDays'
    | 'notifyOnFailure'
    | 'startAtLogin'
  >
> & {
  /** a new token; never read back */
  token?: string;
  /** extension (issue 14): exchanged for an agent token with the platform (`register`), then used as `token`; never stored */
  registrationToken?: string;
};

export type PathTarget = 'work-dir' | 'logs';

/** Which tasks the history lists: all by default; newest first. */
export interface TaskHistoryQuery {
  status?: TaskPhase;
  /** a part of the task id or the command, any case */
  search?: string;
  /** at most this many (and never more than the agent's own bound, 500) */
  limit?: number;
}

export interface TaskHistoryPage {
  /** the state's tasks and the finished ones the journal keeps across restarts, newest first */
  tasks: TaskView[];
  /** how many match in all (the cleanup policy decides what the journal still holds) */
  total: number;
}

/** Lines of a task's log file (`logs/tasks/<id>.log`: stdout and stderr as they came, unmarked). */
export interface TaskLogPage {
  taskId: string;
  /** the number (0-based) of `lines[0]` */
  from: number;
  lines: string[];
  /** numbers of the lines sent cut (longer than the agent sends per line, 8192 characters) */
  cut: number[];
  /** lines in the file right now (it grows while the task runs) */
  totalLines: number;
  bytes: number;
}

export interface TaskLogSearch {
  taskId: string;
  query: string;
  fromLine: number;
  /** matching lines (case-insensitive), in order; a long line is sent as an excerpt around the match */
  matches: Array<{ line: number; text: string }>;
  /** the match bound (1000) stopped the scan: search again from here for more; null = the file's end */
  nextLine: number | null;
  totalLines: number;
}

/** What a UI may call. Every host (IPC, dashboard socket) carries exactly this. */
export interface AgentApi {
  getSnapshot(): Promise<AgentSnapshot>;
  /** returns the unsubscribe function (contextBridge cannot match a listener passed to an `off`) */
  subscribe(listener: (event: AgentEvent) => void): () => void;
  getTaskOutput(taskId: string): Promise<OutputChunk[]>;
  cancelTask(taskId: string): Promise<CommandResult>;
  getSettings(): Promise<SettingsView>;
  updateSettings(patch: SettingsPatch): Promise<CommandResult>;
  openPath(target: PathTarget): Promise<CommandResult>;
  /** no new task starts until resume (the tray's Pause and the platform's `pause` do the same) */
  pause(): Promise<CommandResult>;
  resume(): Promise<CommandResult>;
  /** the tray's Quit: a graceful stop (tasks get their grace period) */
  quit(): Promise<CommandResult>;
  getTaskHistory(query: TaskHistoryQuery): Promise<TaskHistoryPage>;
  readTaskLog(taskId: string, fromLine: number, lineCount: number): Promise<TaskLogPage>;
  searchTaskLog(taskId: string, query: string, fromLine: number): Promise<TaskLogSearch>;
  /** desktop: shows the task's log file in the file manager; a dashboard downloads it instead */
  revealTaskLog(taskId: string): Promise<CommandResult>;
}

/** The calls of AgentApi that carry arguments over a transport (all but subscribe). */
export type AgentCall =
  | { method: 'getSnapshot'; args: [] }
  | { method: 'getTaskOutput'; args: [taskId: string] }
  | { method: 'cancelTask'; args: [taskId: string] }
  | { method: 'getSettings'; args: [] }
  | { method: 'updateSettings'; args: [patch: SettingsPatch] }
  | { method: 'openPath'; args: [target: PathTarget] }
  | { method: 'pause'; args: [] }
  | { method: 'resume'; args: [] }
  | { method: 'quit'; args: [] }
  | { method: 'getTaskHistory'; args: [query: TaskHistoryQuery] }
  | { method: 'readTaskLog'; args: [taskId: string, fromLine: number, lineCount: number] }
  | { method: 'searchTaskLog'; args: [taskId: string, query: string, fromLine: number] }
  | { method: 'revealTaskLog'; args: [taskId: string] };

/** The dashboard's WebSocket messages (headless host ⇄ browser). */
export type DashboardServerMessage =
  | { kind: 'event'; event: AgentEvent }
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string };

export type DashboardClientMessage = { kind: 'call'; id: number } & AgentCall;
