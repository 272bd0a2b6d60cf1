/**
 * Execution: a queued task becomes a process tree (runner.ts) in its work dir with its environment;
 * the running ones can be stopped, and paused while the platform is behind.
 */
import { realpathSync } from 'node:fs';
import { ErrorCode } from '../protocol/codes.js';
import type { TaskFrame, TaskResultFrame } from '../protocol/frames.js';
import type { Logger } from '../logging/logger.js';
import { confineTaskWorkDir, type WorkLayout } from '../workspace/layout.js';
import type { TaskDirs } from '../workspace/task-dirs.js';
import { buildTaskEnv } from './environment.js';
import { startWithHooks, type HookSettings } from './hooks.js';
import type { OutputBatch } from './output-batcher.js';
import { startTask, type RunningTask, type RunOutcome, type StopReason } from './runner.js';
import { findCgroupBase, type CgroupLookup } from './limits/cgroup.js';
import { findPrlimit } from './limits/rlimit.js';
import { TaskResources, type ResourceHost } from './limits/task-resources.js';
import { treeKey } from './tree-key.js';
import { maskText, secretEnvValues, shortSecretWarning } from './secret-masker.js';
import type { TaskPolicy } from './task-policy.js';
import { unrun } from './reporting.js';
import type { TransferOptions } from './transfer/task-transfers.js';

/**
 * Files, artifacts and test reports load with the first task that has them: an agent that never
 * runs one keeps their code (and saxes, tinyglobby, the HTTP client) out of its memory.
 */
const transfers = () => import('./transfer/task-transfers.js');

export interface ExecutionOptions {
  defaultTimeoutS: number;
  killGraceS: number;
  resultMaxBytes: number;
  shell: string[];
  /** variables and values that must never reach a task (the agent's token) */
  secretNames: string[];
  secretValues: () => string[];
  /** deny_patterns and run_as (task-policy.ts) */
  policy?: TaskPolicy;
  layout: () => WorkLayout;
  /** creates each task's work dir and records whether it made it (what cleanup may remove) */
  taskDirs: TaskDirs;
  log: Logger;
  /** runner.ts's startTask; a fake in the scheduler's unit tests */
  startTask?: typeof startTask;
  /** HTTP, cache and retries for a task's `files` and `artifacts` */
  transfer?: TransferOptions;
  /** this agent's id: with the task's, it marks the task's processes as this agent's (tree-key.ts) */
  agentId?: string;
  /** the operator's pre_task / post_task hooks around every command (hooks.ts) */
  hooks?: HookSettings;
  /** where limits can be held (limits/task-resources.ts); found on this host when absent */
  resources?: ResourceHost;
}

export interface ExecutionHooks {
  onSpawn: (pid: number, start: number | undefined) => void;
  onStarted: () => void;
  onOutput: (batch: OutputBatch) => void;
}

/** What a task's steps add to its task_result besides the run's outcome. */
export type ResultExtras = Pick<TaskResultFrame, 'artifacts'>;

export type Executed =
  { ok: true; outcome: RunOutcome; extras?: ResultExtras } | { ok: false; code: ErrorCode; message: string };

export class TaskExecution {
  private readonly running = new Map<string, RunningTask>();
  /** every task between its start and its outcome, its transfers' abort switch with it */
  private readonly runs = new Map<string, { abort: AbortController; done: Promise<Executed> }>();
  private paused = false;
  /** env var names already warned about as too short to mask (once each) */
  private readonly shortSecretsWarned = new Set<string>();
  /**
   * The agent's environment as it started, copied once: reading process.env goes to the C environ
   * one variable at a time, which cost more per task than the rest of the environment's making.
   * The agent never changes its own environment.
   */
  private readonly agentEnv: NodeJS.ProcessEnv = { ...process.env };
  private readonly resources: ResourceHost;

  constructor(private readonly opts: ExecutionOptions) {
    this.resources = opts.resources ?? hostResources();
  }

  get runningCount(): number {
    return this.runs.size;
  }

  /** `admittedIn`: the layout the work dir was checked against when the task was admitted. */
  async run(frame: TaskFrame, workDir: string, admittedIn: WorkLayout, hooks: ExecutionHooks): Promise<Executed> {
    const abort = new AbortController();
    const done = this.execute(frame, workDir, admittedIn, hooks, abort.signal);
    this.runs.set(frame.task_id, { abort, done });
    try {
      return await done;
    } finally {
      this.runs.delete(frame.task_id);
    }
  }

  private async execute(
    frame: TaskFrame,
    workDir: string,
    admittedIn: WorkLayout,
    hooks: ExecutionHooks,
    signal: AbortSignal,
  ): Promise<Executed> {
    const id = frame.task_id;
    const layout = this.opts.layout();
    let checked: { real: string };
    try {
      // again: a symlink made while the task was queued must not lead it anywhere
      checked = confineTaskWorkDir(admittedIn, id, workDir, this.opts.policy?.confinement);
    } catch (err) {
      return { ok: false, code: ErrorCode.INVALID_TASK, message: (err as Error).message };
    }
    let cwdReal: string;
    try {
      // synchronous, a few microseconds: not worth a trip to the thread pool, where journal fsyncs may be queued
      this.opts.taskDirs
        .prepare(id, workDir)
        .catch((err: Error) =>
          this.opts.log.warn(`task ${id}: cannot record its work dir, which cleanup will leave alone: ${err.message}`),
        );
      cwdReal = realpathSync.native(workDir);
    } catch (err) {
      return {
        ok: false,
        code: ErrorCode.WORK_DIR_ERROR,
        message: `cannot create the task's work dir ${workDir}: ${(err as Error).message}`,
      };
    }
    if (cwdReal !== checked.real) {
      // swapped between the check and mkdir: the runner would give the task user what it leads to
      return {
        ok: false,
        code: ErrorCode.INVALID_TASK,
        message: `work_dir ${workDir} led to ${checked.real} when checked and leads to ${cwdReal} now (a symlink swapped in?); the task was not run`,
      };
    }
    this.warnShortSecrets(frame);
    const env = buildTaskEnv({
      base: this.agentEnv,
      dropNames: this.opts.secretNames,
      secretValues: this.opts.secretValues(),
      envVars: frame.env_vars,
      taskId: id,
      taskDir: workDir,
      workDir: layout.root,
    });
    const timeoutS = frame.timeout ?? this.opts.defaultTimeoutS;
    const secrets = [...secretEnvValues(frame.env_vars), ...this.opts.secretValues()];
    const progress = (text: string) => hooks.onOutput({ stream: 'agent', text: maskText(text, secrets) });
    if (frame.files?.length) {
      const fetched = await this.fetchFiles(frame, cwdReal, layout, timeoutS, signal, progress);
      if (fetched) return fetched;
    }
    if (signal.aborted) return { ok: true, outcome: stoppedBeforeStart(signal) };
    const resources = new TaskResources(
      frame,
      this.opts.policy?.runAs?.uid ?? process.getuid?.() ?? -1,
      this.resources,
      (why) => {
        hooks.onOutput({ stream: 'agent', text: why });
        task.stop('memory');
      },
    );
    for (const text of resources.notes.splice(0)) hooks.onOutput({ stream: 'agent', text });
    const task: RunningTask = startWithHooks(
      {
        taskId: id,
        treeKey: treeKey(this.opts.agentId, id),
        command: frame.command,
        cwd: workDir,
        env,
        timeoutMs: timeoutS * 1000,
        killGraceMs: this.opts.killGraceS * 1000,
        shell: this.opts.shell,
        logFile: layout.taskLogFile(id),
        resultMaxBytes: this.opts.resultMaxBytes,
        // masked in the output: the task's secret-looking env_vars and the agent's token
        secrets,
        runAs: this.opts.policy?.runAs,
        cwdReal,
        launch: resources.launch,
      },
      {
        onSpawn: (pid, start) => {
          resources.started(pid, start);
          hooks.onSpawn(pid, start);
        },
        onOutput: hooks.onOutput,
      },
      this.opts.hooks,
      this.opts.startTask ?? startTask,
      // the operator's hooks are neither limited nor measured as the task: no launch, no samples
      { onSpawn: hooks.onSpawn, onOutput: hooks.onOutput },
    );
    this.running.set(id, task);
    if (this.paused) task.pause();
    hooks.onStarted();
    // debug: its end is the task's line at info (reporting.ts); agent.log's synchronous appends cost a
    // short task more main-thread time than its journal
    this.opts.log.debug(`task ${id} started (timeout ${timeoutS} s): ${maskText(frame.command, secrets)}`);
    let measured: ReturnType<TaskResources['finish']>;
    try {
      measured = resources.finish(await task.done);
    } finally {
      this.running.delete(id);
    }
    for (const text of resources.notes) hooks.onOutput({ stream: 'agent', text });
    const outcome: RunOutcome = { ...measured.outcome, report: { ...measured.outcome.report, ...measured.report } };
    // the agreed order after the command: artifacts, then test reports, then the result
    const extras: ResultExtras = frame.artifacts
      ? { artifacts: await this.uploadArtifacts(frame, cwdReal, signal, progress) }
      : {};
    if (frame.test_reports?.length) await this.addTestReport(outcome, frame.test_reports, workDir, hooks);
    return { ok: true, outcome, extras };
  }

  /** The task's `files`: null when all are in place, else the task's end (FILE_TRANSFER_FAILED, or stopped). */
  private async fetchFiles(
    frame: TaskFrame,
    taskDir: string,
    layout: WorkLayout,
    timeoutS: number,
    signal: AbortSignal,
    progress: (text: string) => void,
  ): Promise<Executed | null> {
    if (!this.opts.transfer)
      return { ok: false, code: ErrorCode.FILE_TRANSFER_FAILED, message: 'this agent has no file transfer set up' };
    // the task's timeout bounds its downloads too: a server that trickles cannot hold the task forever
    const deadline = AbortSignal.timeout(Math.min(timeoutS * 1000, 2 ** 31 - 1));
    const within = AbortSignal.any([signal, deadline]);
    try {
      const { fetchTaskFiles } = await transfers();
      const fetched = await fetchTaskFiles(
        frame,
        taskDir,
        layout,
        this.opts.transfer,
        this.opts.policy?.runAs,
        within,
        progress,
      );
      return fetched.ok ? null : { ok: false, code: ErrorCode.FILE_TRANSFER_FAILED, message: fetched.message };
    } catch (err) {
      if (signal.aborted) return { ok: true, outcome: stoppedBeforeStart(signal) };
      if (deadline.aborted)
        return {
          ok: false,
          code: ErrorCode.FILE_TRANSFER_FAILED,
          message: `${(err as Error).message.replace(/: stopped$/, '')}: not fetched within the task's timeout (${timeoutS} s); the command was not run`,
        };
      throw err;
    }
  }

  /** Whatever the command's end, every match is listed; a failure to look is one agent line, never the task's status. */
  private async uploadArtifacts(
    frame: TaskFrame,
    taskDir: string,
    signal: AbortSignal,
    progress: (text: string) => void,
  ): Promise<NonNullable<ResultExtras['artifacts']>> {
    if (!this.opts.transfer) {
      progress('artifacts: this agent has no file transfer set up; nothing uploaded');
      return [];
    }
    try {
      const { uploadTaskArtifacts } = await transfers();
      return await uploadTaskArtifacts(frame, taskDir, this.opts.transfer, signal, progress);
    } catch (err) {
      progress(`artifacts: could not look for them: ${(err as Error).message}`);
      return [];
    }
  }

  /** The last step before the result (after the artifacts): a report that cannot be read is a note in it. */
  private async addTestReport(
    outcome: RunOutcome,
    globs: string[],
    workDir: string,
    hooks: ExecutionHooks,
  ): Promise<void> {
    const { collectTestReports } = await import('./test-reports/collect.js');
    const report = await collectTestReports(workDir, globs);
    outcome.report = { ...outcome.report, test_report: report };
    const failed = report.failures + report.errors;
    hooks.onOutput({
      stream: 'agent',
      text: `test report: ${report.tests} tests, ${failed} failed, ${report.skipped} skipped${report.unparsed ? `; ${report.unparsed.length} file(s) not read` : ''}`,
    });
  }

  private warnShortSecrets(frame: TaskFrame): void {
    for (const [name, value] of Object.entries(frame.env_vars ?? {})) {
      const warning = this.shortSecretsWarned.has(name) ? null : shortSecretWarning(name, value);
      if (!warning) continue;
      this.shortSecretsWarned.add(name);
      this.opts.log.warn(`task ${frame.task_id}: ${warning}`);
    }
  }

  /**
   * A running command is stopped; a transfer (the files before it, the artifacts after it) is
   * aborted. Shutdown does both: artifacts are not uploaded while the agent stops.
   */
  stop(taskId: string, reason: StopReason): boolean {
    const task = this.running.get(taskId);
    const run = this.runs.get(taskId);
    if (!task && !run) return false;
    task?.stop(reason);
    if (!task || reason === 'shutdown') run?.abort.abort(reason);
    return true;
  }

  /** The platform is behind: stop reading task output until it catches up. */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const task of this.running.values())
      if (paused) task.pause();
      else task.resume();
  }

  async stopAll(): Promise<void> {
    const runs = [...this.runs];
    runs.forEach(([id]) => this.stop(id, 'shutdown'));
    await Promise.all(runs.map(([, run]) => run.done.catch(() => undefined)));
  }
}

/** Stopped while its files were fetched: the command never started. */
function stoppedBeforeStart(signal: AbortSignal): RunOutcome {
  return signal.reason === 'cancelled'
    ? unrun('cancelled', ErrorCode.TASK_CANCELLED, 'cancelled while its files were fetched; the command was not run')
    : unrun('error', ErrorCode.AGENT_SHUTDOWN, "the agent shut down while the task's files were fetched");
}

/** This host's means: the cgroup is looked for once, at the first task with limits. */
function hostResources(): ResourceHost {
  // where cgroup v2 is mounted; empty: never use a cgroup (the rlimit path, also on a v2 host)
  const fsRoot = process.env.ATS_AGENT_CGROUP_ROOT ?? '/sys/fs/cgroup';
  let found: CgroupLookup | null = null;
  return {
    cgroup: () =>
      (found ??= fsRoot
        ? findCgroupBase(fsRoot)
        : { ok: false, why: 'cgroups turned off (ATS_AGENT_CGROUP_ROOT is empty)' }),
    prlimit: findPrlimit(),
  };
}
