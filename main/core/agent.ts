/**
 * The agent: wires config, logging, workspace, connection, monitor and tasks, and owns the one
 * observable state. Hosts (the headless CLI, the Electron shell) create it, start it, read its state
 * and end it; they never reach into its parts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type {
  CommandResult,
  OutputChunk,
  SettingsView,
  TaskHistoryPage,
  TaskHistoryQuery,
  TokenStorage,
} from './api.js';
import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig } from './config/schema.js';
import { RunControl } from './run-control.js';
import { agentTags } from './config/tags.js';
import { PlatformConnection } from './connection/platform-connection.js';
import { createAgentLogging, type AgentLogging, type Logger } from './logging/logger.js';
import { Redactor, redactUrl } from './logging/redact.js';
import { readStaticInfo, type StaticInfo } from './monitor/static-info.js';
import { SystemSampler } from './monitor/sampler.js';
import { AlertEvaluator, metricOf } from './monitor/alerts.js';
import { runProbe, ScriptMonitor } from './monitor/scripts.js';
import { ErrorCode, ExitCode, FatalError } from './protocol/codes.js';
import {
  TASK_ID_PATTERN,
  type AlertFrame,
  type AgentInfo,
  type AuthSuccessFrame,
  type ConfigUpdateFrame,
  type ErrorFrame,
  type HeartbeatFrame,
  type OnConfirmed,
  type TaskLogFrame,
  type TaskResultFrame,
} from './protocol/frames.js';
import { parseInbound } from './protocol/inbound.js';
import { AgentState, TASK_OUTPUT_CHARS_KEPT } from './state/agent-state.js';
import { defaultShell } from './tasks/runner.js';
import { TaskJournal } from './tasks/journal.js';
import { taskHistory } from './tasks/task-history.js';
import { TaskLogReader } from './tasks/task-log-reader.js';
import { TaskScheduler } from './tasks/scheduler.js';
import { TaskPolicy } from './tasks/task-policy.js';
import { tooShortToMask } from './tasks/secret-masker.js';
import { cleanupTasks } from './workspace/cleanup.js';
import { TaskDirs } from './workspace/task-dirs.js';
import { prepareWorkDir, type WorkLayout } from './workspace/layout.js';
import pkg from '../../package.json' with { type: 'json' };

// bundled at build time: the version users see is the one in package.json, in every form of the agent
export const AGENT_VERSION: string = pkg.version;
/** The agent's own variables (its secrets, and the switch that runs the packaged app as Node): never passed to a task. */
export const SECRET_ENV_NAMES = ['ATS_AGENT_TOKEN', 'ATS_AGENT_TOKEN_FILE', 'ELECTRON_RUN_AS_NODE'];
/** The extensions of PROTOCOL.md this agent speaks, announced in auth.agent_info.features. */
export const AGENT_FEATURES = [
  'seq',
  'partial',
  'ack',
  'pause',
  'drain',
  'alerts',
  'custom_metrics',
  'register',
  'priority',
  'depends_on',
  'hooks',
  'test_reports',
  'limits',
  'usage',
  'files',
  'artifacts',
];
const SHORT_TOKEN_WARNING = (n: number) =>
  `the token is ${n} characters long, too short to mask safely: logs mask it only where it stands as a whole word`;
const SHUTDOWN_FLUSH_MS = 5_000;
const CLEANUP_DELAY_MS = 1_000;
/** a steady stream of tasks still gets its cleanup this long after the first asked for it */
const CLEANUP_MAX_DELAY_MS = 30_000;
/** confirmed results kept in the journal across restarts, to answer redeliveries */
const JOURNAL_RESULTS_KEPT = 1_000;

export interface AgentOptions {
  config: AgentConfig;
  /** the current token; called before every connection attempt (a token file may be rotated) */
  token: () => string;
  mode: 'gui' | 'headless';
  /** echo the agent log to the console (foreground runs) */
  console: boolean;
  /** run exactly one task, then drain (PROTOCOL.md, Agent control) */
  ephemeral?: boolean;
  /** seconds a drain waits for running tasks before stopping them; absent: no limit */
  drainTimeoutS?: number;
  /** the files the agent runs from outside its work dir (config, token file): no task's directory may hold them */
  ownFiles?: readonly string[];
}

export interface AgentExit {
  exitCode: ExitCode;
  error?: FatalError;
}

export class Agent {
  readonly state: AgentState;
  /** the whole log of any task, for a UI (pages, search, the file for a download or a file manager) */
  readonly taskLogs: TaskLogReader;
  /** settles when the agent has ended, by shutdown() or by a fatal error */
  readonly finished: Promise<AgentExit>;
  private resolveFinished!: (exit: AgentExit) => void;
  private readonly connection: PlatformConnection;
  private readonly scheduler: TaskScheduler;
  private readonly control: RunControl;
  private readonly log: Logger;
  private readonly sampler: SystemSampler;
  private scripts: ScriptMonitor;
  private alerts: AlertEvaluator;
  /** the config in force: the start's, changed by reloads and config_update */
  private config: AgentConfig;
  private readonly agentInfo: AgentInfo;
  private readonly policy: TaskPolicy;
  /** the latest change of each alert that could not be sent (offline): sent at the next auth_success */
  private readonly unsentAlerts = new Map<string, AlertFrame>();
  private readonly taskDirs: TaskDirs;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private inbound: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  private cleanupRunning: Promise<void> | null = null;
  private cleanupAgain = false;
  private cleanupTimer: NodeJS.Timeout | null = null;
  private cleanupAskedAt = 0;
  private cleanupPolicy: AgentConfig['task']['cleanup'];
  private authCount = 0;
  private recovered: Promise<void> = Promise.resolve();
  /** the token of the latest connection attempt: what tasks must never see */
  private lastToken: string;

  private constructor(
    private readonly opts: AgentOptions,
    token: string,
    private readonly logging: AgentLogging,
    private readonly redactor: Redactor,
    private layout: WorkLayout,
    private readonly journal: TaskJournal,
    info: StaticInfo,
    agentId: string,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.lastToken = token;
    const localLayout = layout;
    // the platform may name another work dir: a task from before that still has its log in the local one
    this.taskLogs = new TaskLogReader((id) => {
      const file = this.layout.taskLogFile(id);
      return this.layout === localLayout || existsSync(file) ? file : localLayout.taskLogFile(id);
    });
    const { config } = opts;
    this.config = config;
    this.cleanupPolicy = { ...config.task.cleanup };
    this.log = logging.scope('agent');
    this.scripts = this.scriptMonitor(config.monitor.scripts);
    this.alerts = new AlertEvaluator(config.monitor.alerts);
    this.sampler = new SystemSampler(
      info,
      () => this.layout.root,
      () => this.scripts.values(),
    );
    const runningAsRoot = process.getuid?.() === 0;
    const tags = agentTags(config.agent.tags);
    this.state = new AgentState(
      {
        version: AGENT_VERSION,
        agentId,
        mode: opts.mode,
        hostname: os.hostname(),
        pid: process.pid,
        startedAt: new Date().toISOString(),
        runningAsRoot,
        tags,
      },
      {
        phase: 'starting',
        serverUrl: redactUrl(config.server.url),
        environmentId: null,
        workDir: layout.root,
        connectedSince: null,
        nextAttemptAt: null,
        attempt: 0,
        lastError: null,
      },
    );
    logging.onEntry((entry) => this.state.addLog(entry));
    logging.onFileProblem((problem, linesLost) => this.state.setLogFile(problem, linesLost));
    if (runningAsRoot && config.task.run_as === undefined)
      this.log.warn(
        'running as root: tasks run as root too; set task.run_as (a user name or uid, e.g. "nobody") in the config file to run them unprivileged',
      );

    this.agentInfo = {
      version: AGENT_VERSION,
      platform: process.platform,
      node_version: process.versions.node,
      ...(process.versions.electron ? { electron_version: process.versions.electron } : {}),
      hostname: os.hostname(),
      agent_id: agentId,
      mode: opts.mode,
      tags,
      features: AGENT_FEATURES,
    };
    this.connection = new PlatformConnection({
      url: config.server.url,
      token: () => this.currentToken(),
      // the same object: a reload's tags go out with the next auth
      agentInfo: this.agentInfo,
      caFile: config.server.ca_file,
      proxy: config.server.proxy,
      noProxy: config.server.no_proxy,
      outboxFile: path.join(layout.root, 'state', 'outbox.log'),
      maxRetries: config.server.max_retries,
      log: logging.scope('connection'),
    });
    this.taskDirs = new TaskDirs(path.join(layout.root, 'state'));
    this.policy = new TaskPolicy(config.task, logging.scope('tasks'), runningAsRoot, undefined, {
      root: layout.root,
      files: opts.ownFiles,
    });
    this.scheduler = new TaskScheduler({
      maxConcurrent: config.task.max_concurrent,
      defaultTimeoutS: config.task.timeout,
      killGraceS: config.task.kill_grace,
      resultMaxBytes: config.task.result_max_bytes,
      shell: config.task.shell ?? defaultShell(),
      secretNames: SECRET_ENV_NAMES,
      secretValues: () => [this.lastToken],
      policy: this.policy,
      layout: () => this.layout,
      journal,
      taskDirs: this.taskDirs,
      deliver: (frame, onConfirmed) => this.deliver(frame, onConfirmed),
      delivery: this.connection.outbox,
      state: this.state,
      log: logging.scope('tasks'),
      onTaskFinished: () => this.cleanupSoon(),
      onTaskStarting: (taskId) => this.control.taskStarting(taskId),
      agentId,
      hooks: config.hooks,
      maxQueued: config.task.max_queued,
      dependencyTimeoutS: config.task.dependency_timeout,
      transfer: {
        http: {
          serverUrl: config.server.url,
          token: () => this.lastToken,
          caFile: config.server.ca_file,
          proxy: config.server.proxy,
          noProxy: config.server.no_proxy,
          env: process.env,
          idleTimeoutMs: config.transfer.timeout * 1000,
        },
        cacheMaxBytes: config.transfer.cache_max_mb * 1024 * 1024,
        uploadRetries: config.transfer.upload_retries,
      },
    });
    this.control = new RunControl({
      hold: (held) => this.scheduler.setHeld(held),
      whenIdle: () => this.recovered.then(() => this.scheduler.whenIdle()),
      end: () => this.shutdown(),
      onChange: (view) => {
        this.state.setControl(view);
        // the platform learns it now, not a heartbeat later
        if (this.heartbeatTimer) this.startHeartbeat();
      },
      log: logging.scope('control'),
      ephemeral: opts.ephemeral ?? false,
      drainTimeoutS: opts.drainTimeoutS ?? null,
    });
    this.state.setControl(this.control.view());
    this.state.setOutboxProbe(() => ({
      frames: this.connection.outbox.size,
      bytes: this.connection.outbox.pendingBytes,
    }));
    this.wireConnection();
  }

  /**
   * Reads the token (a bad token source fails here, before anything is created), prepares the local
   * work dir and logging; fails with WORK_DIR_ERROR when it cannot write there.
   */
  static async create(opts: AgentOptions): Promise<Agent> {
    const token = opts.token();
    const layout = await prepareWorkDir(opts.config.work_dir);
    const redactor = new Redactor();
    redactor.add(token);
    const logging = createAgentLogging({
      logsDir: layout.logsDir,
      level: opts.config.logging.level,
      maxSize: opts.config.logging.max_size,
      backupCount: opts.config.logging.backup_count,
      console: opts.console,
      redactor,
    });
    if (tooShortToMask(token)) logging.scope('agent').warn(SHORT_TOKEN_WARNING(token.length));
    const [info, agentId] = await Promise.all([readStaticInfo(), readAgentId(layout.root)]);
    // the journal stays in the local work dir: it must be found before the platform names its own
    const journal = new TaskJournal(path.join(layout.root, 'state'), (taskId, err) =>
      logging.scope('tasks').error(`journal write for task ${taskId} failed: ${err.message}`),
    );
    return new Agent(opts, token, logging, redactor, layout, journal, info, agentId);
  }

  start(): void {
    this.log.info(
      `ATS Agent ${AGENT_VERSION} (${this.opts.mode}, Node ${process.versions.node}) starting; work dir ${this.layout.root}`,
    );
    const { entries, skipped } = this.journal.load();
    if (skipped.length) this.log.warn(`journal: ignored unreadable entries ${skipped.join(', ')}`);
    this.recovered = this.scheduler
      .recover(this.journal.prune(entries, JOURNAL_RESULTS_KEPT))
      .catch((err) => this.log.error(`journal recovery failed: ${(err as Error).message}`));
    this.cleanup();
    this.scripts.start();
    this.connection.start();
  }

  /** A logger for a host's own parts (the dashboard): same file, console, UI tail and redaction. */
  logger(scope: string): Logger {
    return this.logging.scope(scope);
  }

  /** The settings in force, for a UI; a headless agent cannot change them at run time. */
  settingsView(tokenStorage: TokenStorage): SettingsView {
    const { config } = this;
    return {
      serverUrl: redactUrl(config.server.url),
      workDir: this.layout.root,
      logLevel: config.logging.level,
      maxConcurrent: this.scheduler.maxConcurrent,
      keepTasks: this.cleanupPolicy.keep_tasks,
      keepDays: this.cleanupPolicy.keep_days,
      notifyOnFailure: null,
      startAtLogin: null,
      tokenStorage,
      editable: false,
    };
  }

  /** `who` names the source in the log (the platform, a signal, the UI). */
  pause(who: string): CommandResult {
    return this.control.pause(who);
  }

  resume(who: string): CommandResult {
    return this.control.resume(who);
  }

  /** No new task starts; once nothing runs the agent stops as by shutdown() (SIGQUIT, `drain`). */
  drain(who: string): CommandResult {
    return this.control.drain(who);
  }

  /**
   * A new config (SIGHUP re-read the file) takes effect for what can change at run time: logging level,
   * monitor interval, scripts and alerts, max_concurrent, task timeout, cleanup, deny patterns, tags.
   * The rest is named in the log as waiting for a restart. The caller validated it (an invalid file
   * never gets here).
   */
  reloadConfig(next: AgentConfig, source: string): void {
    const before = this.config;
    const changed: string[] = [];
    const differs = (key: string, a: unknown, b: unknown) => !isDeepStrictEqual(a, b) && changed.push(key);
    if (differs('logging.level', before.logging.level, next.logging.level)) this.logging.setLevel(next.logging.level);
    const intervalChanged = differs('monitor.interval', before.monitor.interval, next.monitor.interval);
    if (differs('task.max_concurrent', before.task.max_concurrent, next.task.max_concurrent))
      this.scheduler.setMaxConcurrent(next.task.max_concurrent);
    if (differs('task.timeout', before.task.timeout, next.task.timeout))
      this.scheduler.setDefaultTimeout(next.task.timeout);
    if (differs('task.deny_patterns', before.task.deny_patterns, next.task.deny_patterns))
      this.policy.setDenyPatterns(next.task.deny_patterns);
    if (differs('task.cleanup', before.task.cleanup, next.task.cleanup)) {
      this.cleanupPolicy = { ...next.task.cleanup };
      this.cleanup();
    }
    const scriptsChanged = differs('monitor.scripts', before.monitor.scripts, next.monitor.scripts);
    if (differs('monitor.alerts', before.monitor.alerts, next.monitor.alerts) || scriptsChanged) {
      this.alerts = new AlertEvaluator(next.monitor.alerts);
      this.state.setAlerts(this.alerts.views());
    }
    if (scriptsChanged) this.replaceScripts(next.monitor.scripts);
    if (differs('agent.tags', before.agent.tags, next.agent.tags)) {
      const tags = agentTags(next.agent.tags);
      this.agentInfo.tags = tags;
      this.state.setTags(tags);
    }
    const later = RESTART_KEYS.filter((key) => !isDeepStrictEqual(valueAt(before, key), valueAt(next, key)));
    // what waits for a restart stays as it is in force, so the settings view tells the truth
    this.config = {
      ...next,
      server: before.server,
      work_dir: before.work_dir,
      hooks: before.hooks,
      logging: { ...next.logging, max_size: before.logging.max_size, backup_count: before.logging.backup_count },
      task: { ...next.task, ...pick(before.task, TASK_RESTART_KEYS) },
    };
    if (intervalChanged) this.restartHeartbeat(); // reads this.config
    this.log.info(
      changed.length
        ? `config reloaded (${source}): ${changed.join(', ')} now in force`
        : `config reloaded (${source}): nothing that applies at run time changed`,
    );
    if (later.length)
      this.log.warn(`config (${source}): ${later.join(', ')} changed; it takes effect at the next start`);
  }

  /** The state's tasks and the finished ones the journal keeps (they survive a restart). */
  async taskHistory(query: TaskHistoryQuery): Promise<TaskHistoryPage> {
    return taskHistory(await this.journal.list(), this.state.taskViews(), query);
  }

  /**
   * What the state keeps of a task's output; for a finished task whose output the state no longer
   * holds (an older one, or one from before a restart), the tail of its log file as one chunk.
   */
  async taskOutput(taskId: string): Promise<OutputChunk[]> {
    const kept = this.state.taskOutput(taskId);
    const view = this.state.task(taskId);
    if (kept.length > 0 || view?.phase === 'queued' || view?.phase === 'running' || !TASK_ID_PATTERN.test(taskId))
      return kept;
    const tail = await this.taskLogs.tail(taskId, TASK_OUTPUT_CHARS_KEPT);
    if (!tail || tail.text === '') return kept;
    // seq 2 with nothing before it: a UI reads it as "older lines are in the log file" (output-buffer.ts)
    return [
      { seq: tail.older ? 2 : 1, stream: 'stdout', text: tail.text, at: view?.finishedAt ?? new Date().toISOString() },
    ];
  }

  cancelTask(taskId: string): CommandResult {
    return this.scheduler.cancel(taskId) ? { ok: true } : { ok: false, message: `no queued or running task ${taskId}` };
  }

  /** Graceful: accept nothing new, stop running tasks, report them, flush, close with 1000. */
  shutdown(): Promise<void> {
    if (!this.stopping) {
      this.log.info('shutting down');
      this.state.updateConnection({ phase: 'stopping' });
    }
    return this.stop({ exitCode: ExitCode.OK }, SHUTDOWN_FLUSH_MS);
  }

  /** Read before each connection attempt (a token file may have been rotated). */
  private currentToken(): string {
    const token = this.opts.token();
    if (this.redactor.add(token) && tooShortToMask(token)) this.log.warn(SHORT_TOKEN_WARNING(token.length));
    this.lastToken = token;
    return token;
  }

  private wireConnection(): void {
    const c = this.connection;
    c.on('phase', (phase, detail) => {
      this.state.updateConnection({
        phase,
        nextAttemptAt: detail.nextAttemptAt?.toISOString() ?? null,
        ...(phase === 'online' ? { attempt: 0 } : detail.attempt !== undefined ? { attempt: detail.attempt } : {}),
        ...(phase !== 'online' ? { connectedSince: null } : {}),
        ...(detail.error ? { lastError: { ...detail.error, at: new Date().toISOString() } } : {}),
      });
    });
    c.on('authenticated', (frame) => {
      this.inbound = this.inbound.then(() => this.onAuthenticated(frame)).catch((err) => this.inboundFailed(err));
    });
    c.on('frame', (frame) => {
      // one frame's failure must not reject the chain: every later frame would be dropped unseen
      this.inbound = this.inbound.then(() => this.onFrame(frame)).catch((err) => this.inboundFailed(err));
    });
    c.on('invalid', (raw, reason) => this.rejectFrame(ErrorCode.INVALID_MESSAGE, `${reason}: ${raw.slice(0, 200)}`));
    c.on('fatal', (error) => {
      this.fail(error).catch((err: unknown) => this.log.error(`stopping after ${error.code} failed: ${String(err)}`));
    });
    // the connection owns backpressure (platform-connection.ts): one signal, on changes only
    c.on('behind', (behind) => this.scheduler.setPaused(behind));
  }

  private inboundFailed(err: unknown): void {
    this.log.error(
      `internal error while handling a frame from the platform (the agent goes on): ${(err as Error)?.stack ?? String(err)}`,
    );
    this.state.count('invalidFrames');
  }

  private async onAuthenticated(frame: AuthSuccessFrame): Promise<void> {
    this.authCount += 1;
    if (this.authCount > 1) this.state.count('reconnects');
    // the platform cannot know the agent's current directory: a relative work_dir is read inside the local one
    const platformDir = frame.work_dir ? path.resolve(this.opts.config.work_dir, frame.work_dir) : null;
    if (platformDir && platformDir !== this.layout.root) {
      try {
        this.layout = await prepareWorkDir(platformDir);
      } catch (err) {
        await this.fail(
          err instanceof FatalError
            ? err
            : new FatalError(ErrorCode.WORK_DIR_ERROR, String(err), ExitCode.WORK_DIR_ERROR),
        );
        return;
      }
      this.logging.setDir(this.layout.logsDir);
      this.log.info(`the platform's work dir is ${this.layout.root}`);
      this.cleanup();
    }
    this.state.updateConnection({
      environmentId: frame.environment_id,
      workDir: this.layout.root,
      connectedSince: new Date().toISOString(),
      lastError: null,
    });
    this.log.info(`authenticated; environment ${frame.environment_id}`);
    this.sendUnsentAlerts();
    this.startHeartbeat();
  }

  private onFrame(raw: unknown): void {
    const inbound = parseInbound(raw);
    if (!inbound.ok) {
      this.rejectFrame(inbound.code, inbound.message, inbound.taskId);
      if (inbound.rejectedTask && inbound.taskId)
        this.scheduler.refuseInvalid(inbound.taskId, inbound.message, inbound.code);
      return;
    }
    const frame = inbound.frame;
    switch (frame.type) {
      case 'task':
        this.log.debug(`task ${frame.task_id} received`);
        this.scheduler.submit(frame);
        break;
      case 'cancel_task':
        if (!this.scheduler.cancel(frame.task_id)) {
          this.rejectFrame('TASK_NOT_FOUND', `cancel_task: no queued or running task ${frame.task_id}`, frame.task_id);
        }
        break;
      case 'config_update':
        this.applyConfigUpdate(frame);
        break;
      case 'ack':
        this.connection.acknowledge(frame);
        break;
      case 'pause':
        this.control.pause('the platform');
        break;
      case 'resume':
        this.control.resume('the platform');
        break;
      case 'drain':
        this.control.drain('the platform');
        break;
    }
  }

  /** Validated as a whole before anything applies: one bad value changes nothing (inbound.ts). */
  private applyConfigUpdate({ task, logging, monitor }: ConfigUpdateFrame): void {
    if (logging?.level !== undefined) {
      this.log.info(`logging.level from the platform: ${logging.level}`);
      this.logging.setLevel(logging.level);
      this.config = { ...this.config, logging: { ...this.config.logging, level: logging.level } };
    }
    if (monitor?.interval !== undefined) {
      this.log.info(`monitor.interval from the platform: ${monitor.interval} s`);
      this.config = { ...this.config, monitor: { ...this.config.monitor, interval: monitor.interval } };
      this.restartHeartbeat();
    }
    if (task?.timeout !== undefined) {
      this.log.info(`task.timeout from the platform: ${task.timeout} s (tasks without a timeout of their own)`);
      this.config = { ...this.config, task: { ...this.config.task, timeout: task.timeout } };
      this.scheduler.setDefaultTimeout(task.timeout);
    }
    if (task?.cleanup) {
      this.cleanupPolicy = { ...this.cleanupPolicy, ...task.cleanup };
      this.log.info(
        `cleanup policy from the platform: keep_tasks ${this.cleanupPolicy.keep_tasks}, keep_days ${this.cleanupPolicy.keep_days}`,
      );
      this.cleanup();
    }
    if (task?.max_concurrent !== undefined) {
      this.log.info(`max_concurrent from the platform: ${task.max_concurrent}`);
      this.config = { ...this.config, task: { ...this.config.task, max_concurrent: task.max_concurrent } };
      this.scheduler.setMaxConcurrent(task.max_concurrent);
    }
  }

  private rejectFrame(code: string, message: string, taskId?: string): void {
    this.log.warn(`unusable frame from the platform: ${message}`);
    this.state.count('invalidFrames');
    const reply: ErrorFrame = {
      type: 'error',
      code,
      message,
      timestamp: new Date().toISOString(),
      ...(taskId ? { task_id: taskId } : {}),
    };
    this.connection.sendNow(reply);
  }

  private deliver(frame: TaskLogFrame | TaskResultFrame, onConfirmed?: OnConfirmed): void {
    this.connection.sendReliable(frame, onConfirmed);
  }

  private startHeartbeat(): void {
    if (this.stopping) return;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const beat = () => {
      this.heartbeat().catch((err: unknown) =>
        this.log.warn(`heartbeat not sent: ${(err as Error)?.message ?? String(err)}`),
      );
    };
    beat();
    this.heartbeatTimer = setInterval(beat, this.config.monitor.interval * 1000);
  }

  /** A new interval: the next heartbeat goes now, then at the new pace (only once heartbeats run). */
  private restartHeartbeat(): void {
    if (this.heartbeatTimer) this.startHeartbeat();
  }

  private scriptMonitor(scripts: AgentConfig['monitor']['scripts']): ScriptMonitor {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRET_ENV_NAMES.includes(k)));
    const shell = this.opts.config.task.shell ?? defaultShell();
    return new ScriptMonitor(
      scripts,
      (script, signal) => runProbe(script, { shell, env, signal }),
      undefined,
      (script, err) => this.log.warn(`monitor script ${script.name} failed: ${(err as Error).message}`),
    );
  }

  /** The old scripts' runs are killed; the new ones start now. */
  private replaceScripts(scripts: AgentConfig['monitor']['scripts']): void {
    const old = this.scripts;
    this.scripts = this.scriptMonitor(scripts);
    old.stop().catch((err: unknown) => this.log.warn(`stopping the old monitor scripts failed: ${String(err)}`));
    if (!this.stopping) this.scripts.start();
  }

  /** Nothing periodic outlives a stopping agent. */
  private stopTimers(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.cleanupTimer) clearTimeout(this.cleanupTimer);
    this.cleanupTimer = null;
  }

  private async heartbeat(): Promise<void> {
    const system = await this.sampler.sample();
    const now = new Date();
    this.checkAlerts(system, now);
    const frame: HeartbeatFrame = {
      type: 'heartbeat',
      timestamp: now.toISOString(),
      system_info: system,
      agent: {
        running_tasks: this.scheduler.runningCount,
        queued_tasks: this.scheduler.queuedCount,
        uptime: Math.round(process.uptime()),
        rss_mb: Math.round(process.memoryUsage.rss() / 1048576),
        paused: this.control.view().paused,
        draining: this.control.view().draining,
      },
    };
    if (this.connection.sendNow(frame)) {
      this.state.recordHeartbeat(system, now);
      this.state.count('heartbeatsSent');
    }
  }

  /**
   * Alerts are state, not task output: the outbox acks frames by task, so they go now, and a change
   * raised while offline is sent (the latest per alert) once the platform is back. A restart starts
   * the evaluation over: a condition that still holds fires again after its `for`.
   */
  private checkAlerts(system: HeartbeatFrame['system_info'], now: Date): void {
    const changes = this.alerts.evaluate((metric) => metricOf(system, metric), now.getTime());
    for (const frame of changes) {
      this.log.warn(
        `alert ${frame.name} ${frame.state}: ${frame.metric} = ${frame.value} (threshold ${frame.threshold})`,
      );
      if (!this.connection.sendNow(frame)) this.unsentAlerts.set(frame.name, frame);
    }
    this.state.setAlerts(this.alerts.views());
  }

  private sendUnsentAlerts(): void {
    for (const [name, frame] of this.unsentAlerts) {
      if (!this.connection.sendNow(frame)) return;
      this.unsentAlerts.delete(name);
    }
  }

  /** After a task: once a burst of tasks has settled, not after each of them. */
  /**
   * Once tasks stop finishing for a moment: a burst of short tasks is cleaned up after it, not in the
   * middle of it (each finish puts it off, up to CLEANUP_MAX_DELAY_MS after the first).
   */
  private cleanupSoon(): void {
    if (this.stopping) return;
    if (this.cleanupTimer) {
      if (Date.now() - this.cleanupAskedAt < CLEANUP_MAX_DELAY_MS) this.cleanupTimer.refresh();
      return;
    }
    this.cleanupAskedAt = Date.now();
    this.cleanupTimer = setTimeout(() => {
      this.cleanupTimer = null;
      this.cleanup();
    }, CLEANUP_DELAY_MS);
  }

  /** Cleanup runs one at a time; a request during a run schedules one more. */
  private cleanup(): void {
    if (this.cleanupRunning) {
      this.cleanupAgain = true;
      return;
    }
    this.cleanupRunning = (async () => {
      do {
        this.cleanupAgain = false;
        const inUse = { ids: this.scheduler.activeIds(), dirs: this.scheduler.activeWorkDirs() };
        const removed = await cleanupTasks(this.layout, this.cleanupPolicy, inUse, this.taskDirs);
        if (removed.length) this.log.info(`cleanup removed ${removed.length} old task(s): ${removed.join(', ')}`);
        await this.journal.forgetDelivered(removed);
      } while (this.cleanupAgain);
    })()
      .catch((err) => this.log.warn(`cleanup failed: ${(err as Error).message}`))
      .finally(() => (this.cleanupRunning = null));
  }

  private fail(error: FatalError): Promise<void> {
    if (!this.stopping) this.log.error(`${error.code}: ${error.message}`);
    return this.stop({ exitCode: error.exitCode, error }, 0);
  }

  /** One way out: whatever fails on it, `finished` settles and the host can exit. */
  private stop(exit: AgentExit, flushMs: number): Promise<void> {
    this.stopping ??= (async () => {
      try {
        this.stopTimers();
        this.control.dispose();
        await this.scripts.stop();
        await this.recovered;
        await this.scheduler.shutdown();
        await this.connection.close(flushMs);
        await this.journal.flush();
        if (exit.exitCode === ExitCode.OK) this.state.updateConnection({ phase: 'stopped' });
        this.log.info('stopped');
      } catch (err) {
        this.log.error(`stopping failed: ${(err as Error)?.stack ?? err}`);
      } finally {
        await this.logging.close().catch(() => undefined);
        this.resolveFinished(exit);
      }
    })();
    return this.stopping;
  }
}

/** Keys read once at start: a reload names them as waiting for a restart. */
const TASK_RESTART_KEYS = [
  'kill_grace',
  'result_max_bytes',
  'shell',
  'run_as',
  'allowed_work_dirs',
  'max_queued',
  'dependency_timeout',
] as const satisfies ReadonlyArray<keyof AgentConfig['task']>;
const RESTART_KEYS = [
  'server',
  'work_dir',
  'hooks',
  'logging.max_size',
  'logging.backup_count',
  ...TASK_RESTART_KEYS.map((k) => `task.${k}`),
];

function valueAt(config: AgentConfig, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, obj[k]])) as Pick<T, K>;
}

async function readAgentId(root: string): Promise<string> {
  const file = path.join(root, 'agent-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (id) return id;
  } catch {
    // first start: create one below
  }
  const id = randomUUID();
  await writeFile(file, `${id}\n`);
  return id;
}
