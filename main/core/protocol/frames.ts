/**
 * Frames in both directions. Field names are the spec's (section 2.2.3) and must never change:
 * real platforms already speak them. Extensions are marked; docs/protocol.md lists them.
 */
import { z } from 'zod';
import { ArtifactsField, FilesField, type ArtifactEntry } from './transfer-fields.js';

export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** the most task_ids one task may wait for (docs/protocol.md, Priority and dependencies) */
export const MAX_DEPENDENCIES = 100;

// ---- platform → agent -------------------------------------------------------------------------

export const AuthSuccessFrame = z.object({
  type: z.literal('auth_success'),
  environment_id: z.string(),
  work_dir: z.string().min(1).optional(),
  server_time: z.string().optional(),
  /** extension (PROTOCOL.md second round): the extensions the platform speaks; a malformed list counts as none */
  features: z.array(z.string()).optional().catch(undefined),
});

export const AuthFailedFrame = z.object({
  type: z.literal('auth_failed'),
  message: z.string().optional(),
  reason: z.string().optional(),
});

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const TaskFrame = z.object({
  type: z.literal('task'),
  task_id: z.string().regex(TASK_ID_PATTERN, 'task_id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}'),
  command: z.string().min(1, 'command must not be empty'),
  work_dir: z.string().min(1).nullish(),
  env_vars: z.record(z.string().min(1), envValue).nullish(),
  timeout: z.number().positive().nullish(),
  /** extension (PROTOCOL.md second round): higher starts first, FIFO among equals; absent = 0 */
  priority: z.number().int('priority must be an integer').nullish(),
  /** extension: task_ids that must each end `success` on this agent before this one starts */
  depends_on: z
    .array(z.string().regex(TASK_ID_PATTERN, 'each depends_on entry must be a task_id'))
    .max(MAX_DEPENDENCIES, `depends_on names at most ${MAX_DEPENDENCIES} tasks`)
    .nullish(),
  /** extension (PROTOCOL.md second round): globs of JUnit/xUnit XML files read after the run */
  test_reports: z.array(z.string().min(1).max(1024)).max(64).nullish(),
  /** extension: resource limits for the task's whole tree (limits/*.ts) */
  limits: z
    .object({
      memory_mb: z.number().positive().max(16_777_216).optional(),
      cpu_percent: z.number().positive().max(102_400).optional(),
      max_processes: z.number().int().min(1).max(4_194_304).optional(),
    })
    .nullish(),
  /** extensions (PROTOCOL.md second round): fetched before the command, uploaded after it */
  files: FilesField.nullish(),
  artifacts: ArtifactsField.nullish(),
});

export const CancelTaskFrame = z.object({
  type: z.literal('cancel_task'),
  task_id: z.string().min(1),
});

export const CleanupPolicy = z.object({
  keep_tasks: z.number().int().min(0).optional(),
  keep_days: z.number().min(0).optional(),
});

/**
 * Extension: the platform stored a task's task_log frames up to `seq`, or (`result: true`) its
 * task_result. Only meaningful after both sides announced "ack".
 */
export const AckFrame = z
  .object({
    type: z.literal('ack'),
    task_id: z.string().min(1).max(256),
    seq: z.number().int().min(0).optional(),
    result: z.literal(true).optional(),
  })
  .refine((f) => (f.seq === undefined) !== (f.result === undefined), {
    message: 'an ack names either a seq or result: true',
  });

/** Extension: the platform changes the cleanup policy or the concurrency at run time. */
export const ConfigUpdateFrame = z.object({
  type: z.literal('config_update'),
  task: z
    .object({
      cleanup: CleanupPolicy.optional(),
      max_concurrent: z.number().int().min(1).max(64).optional(),
      /** extension (second round): the default timeout of tasks received from now on, in seconds */
      timeout: z.number().positive().optional(),
    })
    .optional(),
  /** extension (second round) */
  // config/schema.ts's LOG_LEVELS, written out: the renderer reads these types and must not reach Node's modules
  logging: z.object({ level: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).optional() }).optional(),
  /** extension (second round): seconds between heartbeats, within the config file's bounds */
  monitor: z.object({ interval: z.number().min(0.5).max(3600).optional() }).optional(),
});

/** Extension (second round, Agent control): no new task starts; `resume` undoes it. */
export const PauseFrame = z.object({ type: z.literal('pause') });
export const ResumeFrame = z.object({ type: z.literal('resume') });
/** Extension: like pause; once nothing runs the agent closes with 1000 and exits 0. */
export const DrainFrame = z.object({ type: z.literal('drain') });

export const InboundFrame = z.discriminatedUnion('type', [
  AuthSuccessFrame,
  AuthFailedFrame,
  TaskFrame,
  CancelTaskFrame,
  ConfigUpdateFrame,
  AckFrame,
  PauseFrame,
  ResumeFrame,
  DrainFrame,
]);

export type AuthSuccessFrame = z.infer<typeof AuthSuccessFrame>;
export type TaskFrame = z.infer<typeof TaskFrame>;
export type CancelTaskFrame = z.infer<typeof CancelTaskFrame>;
export type ConfigUpdateFrame = z.infer<typeof ConfigUpdateFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ControlFrame = z.infer<typeof PauseFrame | typeof ResumeFrame | typeof DrainFrame>;
export type InboundFrame = z.infer<typeof InboundFrame>;

// ---- agent → platform -------------------------------------------------------------------------

export interface AgentInfo {
  version: string;
  platform: string; // process.platform; a plain string so that the contract types need no Node types (renderer)
  node_version: string;
  electron_version?: string;
  hostname: string;
  agent_id: string;
  mode: 'gui' | 'headless';
  /** extension: configured tags plus os:<platform> and arch:<arch> */
  tags?: string[];
  /** extension: the extensions this agent speaks (PROTOCOL.md second round) */
  features?: string[];
}

export interface AuthFrame {
  type: 'auth';
  token: string;
  agent_info: AgentInfo;
}

export type Unknown = 'unknown';

export interface SystemInfo {
  cpu: { usage_percent: number | Unknown; cores: number; model: string; frequency: string };
  memory: {
    total: number;
    used: number | Unknown;
    free: number | Unknown;
    usage_percent: number | Unknown;
    unit: 'MB';
  };
  disk: {
    total: number | Unknown;
    used: number | Unknown;
    free: number | Unknown;
    usage_percent: number | Unknown;
    unit: 'MB';
    path?: string;
  };
  network: { ip: string; hostname: string };
  os: { type: string; version: string; kernel: string };
  /** extensions (PROTOCOL.md, Monitoring) */
  load_average?: [number, number, number] | Unknown;
  network_io?: { rx_bytes_per_s: number; tx_bytes_per_s: number } | Unknown;
  disk_io?: { read_bytes_per_s: number; write_bytes_per_s: number } | Unknown;
  /** monitor.scripts by name: a number, a string of at most 256 characters, or "unknown" */
  custom?: Record<string, number | string>;
}

export interface HeartbeatFrame {
  type: 'heartbeat';
  timestamp: string;
  system_info: SystemInfo;
  /** extensions */
  agent?: {
    running_tasks: number;
    queued_tasks: number;
    uptime: number;
    rss_mb: number;
    /** second round: no new task starts (pause, drain, or an ephemeral agent's one task taken) */
    paused?: boolean;
    /** extension: the agent exits once nothing runs */
    draining?: boolean;
  };
}

export type LogStream = 'stdout' | 'stderr' | 'agent';

export interface TaskLogFrame {
  type: 'task_log';
  task_id: string;
  level: 'info' | 'warning' | 'error';
  message: string;
  timestamp: string;
  /** extensions */
  stream: LogStream;
  seq: number;
  /** the message's last line has no newline yet: the stream's next message continues it */
  partial?: true;
}

export type TaskStatus = 'success' | 'failed' | 'error' | 'timeout' | 'cancelled';

/** extension: what the task's whole process tree used (usage/*.ts) */
export interface TaskUsage {
  cpu_seconds: number;
  peak_rss_mb: number;
  read_mb: number;
  write_mb: number;
  /** exact from the task's cgroup, or sampled from /proc while it ran */
  source: 'cgroup' | 'sampled';
}

/** extension: the JUnit/xUnit files of `test_reports`, summed (test-reports/*.ts) */
export interface TestReport {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** seconds, the sum of the test cases' times */
  time: number;
  /** failed and errored cases, at most 50 */
  failed: Array<{ suite: string; name: string; message: string }>;
  /** files that matched but could not be read as a report (paths relative to the task's work dir) */
  unparsed?: string[];
  /** one line per problem: a glob matching nothing, a file outside the work dir, why a file did not parse */
  notes?: string[];
}

export type LimitName = 'memory_mb' | 'cpu_percent' | 'max_processes';
export type LimitsApplied = 'cgroup' | 'rlimit' | 'none';

export interface TaskResultFrame {
  type: 'task_result';
  task_id: string;
  status: TaskStatus;
  exit_code: number;
  output: string;
  error: string;
  duration: number;
  timestamp: string;
  /** extensions */
  error_code?: string;
  started_at?: string;
  signal?: string;
  output_truncated?: boolean;
  error_truncated?: boolean;
  usage?: TaskUsage;
  test_report?: TestReport;
  /** present when the task frame had `limits` */
  limits_applied?: LimitsApplied;
  /** the limits the task asked for that the agent could not enforce */
  limits_unenforced?: LimitName[];
  /** the files the task's `artifacts` globs matched, and whether each was uploaded */
  artifacts?: ArtifactEntry[];
}

/** Extension: the agent's answer to a frame it could not use. */
/** extension: a monitor.alerts state change (docs/fleet.md) */
export interface AlertFrame {
  type: 'alert';
  name: string;
  metric: string;
  value: number;
  threshold: number;
  state: 'firing' | 'resolved';
  timestamp: string;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  timestamp: string;
  task_id?: string;
}

export const levelOf: Record<LogStream, TaskLogFrame['level']> = { stdout: 'info', stderr: 'warning', agent: 'error' };

/**
 * What runs when a frame is confirmed. For a result it may return the promise of its own record (the
 * journal's "delivered"): until that settles, every start-over of the outbox file keeps the result's
 * confirmation, so that a crash in between neither sends the result again nor reports the task
 * AGENT_RESTARTED.
 */
export type OnConfirmed = () => unknown;
