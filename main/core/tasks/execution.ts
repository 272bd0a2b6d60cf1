/**
 * Execution: a queued task becomes a process tree (runner.ts) in its work dir with its environment;
 * the running ones can be stopped, and paused while the platform is behind.
 */
import { realpathSync } from 'node:fs';
import { ErrorCode } from '../protocol/codes.js';
import type { TaskFrame } from '../protocol/frames.js';
import type { Logger } from '../logging/logger.js';
import { confineTaskWorkDir, type WorkLayout } from '../workspace/layout.js';
import type { TaskDirs } from '../workspace/task-dirs.js';
import { buildTaskEnv } from './environment.js';
import { startWithHooks, type HookSettings } from './hooks.js';
import type { OutputBatch } from './output-batcher.js';
import { startTask, type RunningTask, type RunOutcome, type StopReason } from './runner.js';
import { maskText, secretEnvValues, shortSecretWarning } from './secret-masker.js';
import type { TaskPolicy } from './task-policy.js';

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
  /** the operator's pre_task / post_task hooks around every command (hooks.ts) */
  hooks?: HookSettings;
}

export interface ExecutionHooks {
  onSpawn: (pid: number, start: number | undefined) => void;
  onStarted: () => void;
  onOutput: (batch: OutputBatch) => void;
}

export type Executed = { ok: true; outcome: RunOutcome } | { ok: false; code: ErrorCode; message: string };

export class TaskExecution {
  private readonly running = new Map<string, RunningTask>();
  private paused = false;
  /** env var names already warned about as too short to mask (once each) */
  private readonly shortSecretsWarned = new Set<string>();
  /**
   * The agent's environment as it started, copied once: reading process.env goes to the C environ
   * one variable at a time, which cost more per task than the rest of the environment's making.
   * The agent never changes its own environment.
   */
  private readonly agentEnv: NodeJS.ProcessEnv = { ...process.env };

  constructor(private readonly opts: ExecutionOptions) {}

  get runningCount(): number {
    return this.running.size;
  }

  /** `admittedIn`: the layout the work dir was checked against when the task was admitted. */
  async run(frame: TaskFrame, workDir: string, admittedIn: WorkLayout, hooks: ExecutionHooks): Promise<Executed> {
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
    const task = startWithHooks(
      {
        taskId: id,
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
      },
      { onSpawn: hooks.onSpawn, onOutput: hooks.onOutput },
      this.opts.hooks,
      this.opts.startTask ?? startTask,
    );
    this.running.set(id, task);
    if (this.paused) task.pause();
    hooks.onStarted();
    this.opts.log.info(`task ${id} started (timeout ${timeoutS} s): ${maskText(frame.command, secrets)}`);
    try {
      return { ok: true, outcome: await task.done };
    } finally {
      this.running.delete(id);
    }
  }

  private warnShortSecrets(frame: TaskFrame): void {
    for (const [name, value] of Object.entries(frame.env_vars ?? {})) {
      const warning = this.shortSecretsWarned.has(name) ? null : shortSecretWarning(name, value);
      if (!warning) continue;
      this.shortSecretsWarned.add(name);
      this.opts.log.warn(`task ${frame.task_id}: ${warning}`);
    }
  }

  stop(taskId: string, reason: StopReason): boolean {
    const task = this.running.get(taskId);
    if (!task) return false;
    task.stop(reason);
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
    const runs = [...this.running.values()];
    runs.forEach((task) => task.stop('shutdown'));
    await Promise.all(runs.map((task) => task.done));
  }
}
