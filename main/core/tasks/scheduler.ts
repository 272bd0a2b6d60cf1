/**
 * The task queue: FIFO, at most `maxConcurrent` running, a task_id never runs twice, every task ends
 * in exactly one task_result. Output batches become task_log frames with a per-task `seq`.
 */
import { realpathSync } from 'node:fs';
import type { TaskView } from '../api.js';
import type { Logger } from '../logging/logger.js';
import { ErrorCode } from '../protocol/codes.js';
import { levelOf, type TaskFrame, type TaskLogFrame, type TaskResultFrame } from '../protocol/frames.js';
import { COUNTER_OF, type AgentState } from '../state/agent-state.js';
import { confineTaskWorkDir, resolveTaskWorkDir, TaskRefusedError, type WorkLayout } from '../workspace/layout.js';
import type { TaskDirs } from '../workspace/task-dirs.js';
import { buildTaskEnv } from './environment.js';
import type { JournalEntry, TaskJournal } from './journal.js';
import { processStartTime, stopTree } from './process-tree.js';
import type { OutputBatch } from './output-batcher.js';
import { startTask, type RunningTask, type RunOutcome } from './runner.js';
import { maskText, secretEnvValues, shortSecretWarning } from './secret-masker.js';
import type { TaskPolicy } from './task-policy.js';

export interface SchedulerOptions {
  maxConcurrent: number;
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
  journal: TaskJournal;
  /** creates each task's work dir and records whether it made it (what cleanup may remove) */
  taskDirs: TaskDirs;
  deliver: (frame: TaskLogFrame | TaskResultFrame, onConfirmed?: () => void) => void;
  state: AgentState;
  log: Logger;
  /** after each task: the cleanup policy runs */
  onTaskFinished: () => void;
}

interface Queued {
  frame: TaskFrame;
  workDir: string;
  /** the layout its work dir was checked against */
  layout: WorkLayout;
}

const RESULTS_KEPT = 500;

export class TaskScheduler {
  private readonly queue: Queued[] = [];
  private readonly running = new Map<string, RunningTask>();
  /** tasks taken from the queue and not finished, counted before their process exists */
  private readonly inFlight = new Set<string>();
  private readonly seqs = new Map<string, number>();
  /** every task_id ever received: a redelivered task is never run again */
  private readonly seen = new Set<string>();
  /** the latest results, sent again when their task is redelivered (older ones come from the journal) */
  private readonly results = new Map<string, TaskResultFrame>();
  /** journal entries of tasks not finished yet */
  private readonly entries = new Map<string, JournalEntry>();
  /** env var names already warned about as too short to mask (once each) */
  private readonly shortSecretsWarned = new Set<string>();
  private accepting = true;
  private paused = false;
  private concurrency: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.concurrency = opts.maxConcurrent;
  }

  get runningCount(): number {
    return this.running.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Task ids whose directories must survive a cleanup. */
  activeIds(): Set<string> {
    return new Set([...this.inFlight, ...this.queue.map((q) => q.frame.task_id)]);
  }

  /** The work dirs of queued and running tasks: a cleanup removes none of them. */
  activeWorkDirs(): string[] {
    return [...this.activeIds()].flatMap((id) => this.opts.state.task(id)?.workDir || []);
  }

  get maxConcurrent(): number {
    return this.concurrency;
  }

  setMaxConcurrent(n: number): void {
    this.concurrency = n;
    this.pump();
  }

  submit(frame: TaskFrame): void {
    const id = frame.task_id;
    if (this.seen.has(id)) {
      const result = this.results.get(id) ?? this.opts.journal.read(id)?.result;
      if (result) {
        this.opts.log.info(`task ${id} was delivered again; it already finished, sending its result again`);
        this.opts.deliver(result);
      } else {
        this.opts.log.info(`task ${id} was delivered again while queued or running; it is not run twice`);
      }
      return;
    }
    this.seen.add(id);
    this.opts.state.count('tasksReceived');
    const receivedAt = new Date();
    this.journal({ task_id: id, phase: 'queued', command: frame.command, received_at: receivedAt.toISOString() });
    if (!this.accepting) {
      this.reject(frame, '', ErrorCode.AGENT_SHUTDOWN, 'the agent is shutting down');
      return;
    }
    let workDir: string;
    const layout = this.opts.layout();
    try {
      workDir = resolveTaskWorkDir(layout, id, frame.work_dir, this.opts.policy?.confinement);
    } catch (err) {
      const refused = err instanceof TaskRefusedError ? err : null;
      this.reject(
        frame,
        frame.work_dir ?? '',
        refused?.code ?? ErrorCode.WORK_DIR_ERROR,
        refused?.message ?? String(err),
      );
      return;
    }
    const refusal = this.opts.policy?.check(frame.command);
    if (refusal) return this.reject(frame, workDir, refusal.code, refusal.message);
    this.opts.state.upsertTask(taskView(frame, workDir, receivedAt));
    this.queue.push({ frame, workDir, layout });
    this.opts.log.info(`task ${id} queued (${this.queue.length} waiting, ${this.running.size} running)`);
    this.pump();
  }

  /**
   * A task frame that names its task but cannot run (it failed validation): one `error` result,
   * through the same path as every other, and never a second one for a task_id already seen.
   */
  refuseInvalid(taskId: string, message: string): void {
    if (this.seen.has(taskId)) {
      this.opts.log.warn(`an invalid task frame for ${taskId.slice(0, 128)}, a task_id already seen: ignored`);
      return;
    }
    this.seen.add(taskId);
    this.opts.state.count('tasksReceived');
    this.reject({ type: 'task', task_id: taskId, command: '' }, '', ErrorCode.INVALID_TASK, message);
  }

  cancel(taskId: string): boolean {
    const index = this.queue.findIndex((q) => q.frame.task_id === taskId);
    if (index >= 0) {
      const [queued] = this.queue.splice(index, 1);
      this.opts.log.info(`task ${taskId} cancelled while queued`);
      this.finish(queued!.frame, unrun('cancelled', ErrorCode.TASK_CANCELLED, 'cancelled before it started'));
      return true;
    }
    const task = this.running.get(taskId);
    if (!task) return false;
    this.opts.log.info(`cancelling task ${taskId}`);
    task.stop('cancelled');
    return true;
  }

  /** The socket is behind: stop reading task output until it catches up. */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const task of this.running.values()) paused ? task.pause() : task.resume();
  }

  /** Accept nothing new; end queued and running tasks; resolves when every result is out. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    for (const queued of this.queue.splice(0)) {
      this.reject(
        queued.frame,
        queued.workDir,
        ErrorCode.AGENT_SHUTDOWN,
        'the agent shut down before the task started',
      );
    }
    const runs = [...this.running.values()];
    runs.forEach((task) => task.stop('shutdown'));
    await Promise.all(runs.map((task) => task.done));
    await new Promise((r) => setImmediate(r));
  }

  private pump(): void {
    while (this.accepting && this.inFlight.size < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.inFlight.add(next.frame.task_id);
      void this.run(next).finally(() => {
        this.inFlight.delete(next.frame.task_id);
        this.pump();
      });
    }
  }

  /** Whatever goes wrong inside the agent, the task still gets its one result. */
  private async run(queued: Queued): Promise<void> {
    const { frame } = queued;
    try {
      await this.execute(queued);
    } catch (err) {
      this.running.delete(frame.task_id);
      this.opts.log.error(`task ${frame.task_id}: internal error: ${(err as Error)?.stack ?? err}`);
      if (!this.results.has(frame.task_id)) {
        this.finish(
          frame,
          unrun(
            'error',
            ErrorCode.TASK_EXECUTION_FAILED,
            `the agent failed running the task: ${(err as Error)?.message ?? err}`,
          ),
        );
      }
    }
  }

  private async execute(queued: Queued): Promise<void> {
    const { frame, workDir } = queued;
    const id = frame.task_id;
    const layout = this.opts.layout();
    let checked: { real: string };
    try {
      // again: a symlink made while the task was queued must not lead it anywhere
      checked = confineTaskWorkDir(queued.layout, id, workDir, this.opts.policy?.confinement);
    } catch (err) {
      this.reject(frame, workDir, ErrorCode.INVALID_TASK, (err as Error).message);
      return;
    }
    let cwdReal: string;
    try {
      // a few microseconds: not worth a trip to the thread pool, where journal fsyncs may be queued
      this.opts.taskDirs.prepare(id, workDir);
      cwdReal = realpathSync.native(workDir);
    } catch (err) {
      this.reject(
        frame,
        workDir,
        ErrorCode.WORK_DIR_ERROR,
        `cannot create the task's work dir ${workDir}: ${(err as Error).message}`,
      );
      return;
    }
    if (cwdReal !== checked.real) {
      // swapped between the check and mkdir: the runner would give the task user what it leads to
      const message = `work_dir ${workDir} led to ${checked.real} when checked and leads to ${cwdReal} now (a symlink swapped in?); the task was not run`;
      this.reject(frame, workDir, ErrorCode.INVALID_TASK, message);
      return;
    }
    const env = buildTaskEnv({
      base: process.env,
      dropNames: this.opts.secretNames,
      secretValues: this.opts.secretValues(),
      envVars: frame.env_vars,
      taskId: id,
      taskDir: workDir,
      workDir: layout.root,
    });
    const timeoutS = frame.timeout ?? this.opts.defaultTimeoutS;
    const secrets = [...secretEnvValues(frame.env_vars), ...this.opts.secretValues()];
    for (const [name, value] of Object.entries(frame.env_vars ?? {})) {
      const warning = this.shortSecretsWarned.has(name) ? null : shortSecretWarning(name, value);
      if (!warning) continue;
      this.shortSecretsWarned.add(name);
      this.opts.log.warn(`task ${id}: ${warning}`);
    }
    const task = startTask(
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
      {
        onSpawn: (pid, start) => {
          this.opts.state.updateTask(id, { pid });
          const entry = this.entries.get(id);
          if (entry) this.journal({ ...entry, phase: 'running', pid, pid_start: start });
        },
        onOutput: (batch) => this.emitOutput(id, batch),
      },
    );
    this.running.set(id, task);
    if (this.paused) task.pause();
    this.opts.state.updateTask(id, { phase: 'running', startedAt: new Date().toISOString() });
    this.opts.log.info(`task ${id} started (timeout ${timeoutS} s): ${maskText(frame.command, secrets)}`);
    const outcome = await task.done;
    this.running.delete(id);
    this.finish(frame, outcome);
  }

  /**
   * A new start after a crash: tasks the journal says were queued or running are ended and
   * reported AGENT_RESTARTED; results the platform never confirmed are sent again; every task_id
   * seen before stays known, so a redelivery is answered rather than run.
   */
  async recover(entries: JournalEntry[]): Promise<void> {
    for (const entry of entries) this.seen.add(entry.task_id);
    for (const entry of entries) {
      if (entry.phase === 'finished' && entry.result) {
        this.remember(entry.result);
        if (!entry.delivered) {
          this.opts.log.info(`task ${entry.task_id}: sending its unconfirmed result again`);
          this.opts.deliver(entry.result, () => void this.opts.journal.write({ ...entry, delivered: true }));
        }
        continue;
      }
      // a pid is trusted only while it still names the same process
      const trusted =
        entry.pid !== undefined && entry.pid_start !== undefined && processStartTime(entry.pid) === entry.pid_start;
      await stopTree(
        trusted ? entry.pid : undefined,
        entry.task_id,
        this.opts.killGraceS * 1000,
        trusted ? entry.pid_start : undefined,
      );
      this.opts.log.warn(
        `task ${entry.task_id} was ${entry.phase} when the agent stopped unexpectedly; its processes are ended and it is reported as an error`,
      );
      const frame = { type: 'task' as const, task_id: entry.task_id, command: entry.command };
      this.entries.set(entry.task_id, entry);
      this.opts.state.upsertTask(taskView(frame, '', new Date(entry.received_at)));
      const error = `the agent restarted while the task was ${entry.phase}; its processes were ended`;
      this.finish(frame, unrun('error', ErrorCode.AGENT_RESTARTED, error, new Date(entry.received_at)));
    }
  }

  private journal(entry: JournalEntry): void {
    this.entries.set(entry.task_id, entry);
    void this.opts.journal.write(entry);
  }

  private remember(result: TaskResultFrame): void {
    this.results.set(result.task_id, result);
    if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value!);
  }

  private emitOutput(taskId: string, batch: OutputBatch): void {
    const seq = (this.seqs.get(taskId) ?? 0) + 1;
    this.seqs.set(taskId, seq);
    const timestamp = new Date().toISOString();
    this.opts.deliver({
      type: 'task_log',
      task_id: taskId,
      level: levelOf[batch.stream],
      message: batch.text,
      timestamp,
      stream: batch.stream,
      seq,
      ...(batch.partial ? { partial: true } : {}),
    });
    this.opts.state.appendOutput(taskId, {
      seq,
      stream: batch.stream,
      text: batch.text,
      at: timestamp,
      ...(batch.partial ? { partial: true } : {}),
    });
  }

  private reject(frame: TaskFrame, workDir: string, code: ErrorCode, message: string): void {
    this.opts.log.warn(`task ${frame.task_id} refused: ${message}`);
    if (!this.opts.state.task(frame.task_id)) this.opts.state.upsertTask(taskView(frame, workDir, new Date()));
    this.emitOutput(frame.task_id, { stream: 'agent', text: message });
    this.finish(frame, unrun('error', code, message));
  }

  private finish(frame: TaskFrame, outcome: RunOutcome): void {
    const id = frame.task_id;
    const duration = Math.round((outcome.finishedAt.getTime() - outcome.startedAt.getTime()) / 10) / 100;
    const result: TaskResultFrame = {
      type: 'task_result',
      task_id: id,
      status: outcome.status,
      exit_code: outcome.exitCode,
      output: outcome.output,
      error: outcome.error,
      duration,
      timestamp: outcome.finishedAt.toISOString(),
      started_at: outcome.startedAt.toISOString(),
      ...(outcome.errorCode ? { error_code: outcome.errorCode } : {}),
      ...(outcome.signal ? { signal: outcome.signal } : {}),
      ...(outcome.outputTruncated ? { output_truncated: true } : {}),
      ...(outcome.errorTruncated ? { error_truncated: true } : {}),
    };
    this.remember(result);
    this.seqs.delete(id);
    const finished: JournalEntry = {
      task_id: id,
      phase: 'finished',
      command: frame.command,
      received_at: this.entries.get(id)?.received_at ?? outcome.startedAt.toISOString(),
      result,
      delivered: false,
    };
    this.entries.delete(id);
    void this.opts.journal.write(finished);
    this.opts.deliver(result, () => void this.opts.journal.write({ ...finished, delivered: true }));
    this.opts.state.count(COUNTER_OF[outcome.status]);
    this.opts.state.updateTask(id, {
      phase: outcome.status,
      finishedAt: outcome.finishedAt.toISOString(),
      duration,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      errorCode: outcome.errorCode,
      error: outcome.status === 'error' ? outcome.error : null,
      pid: null,
    });
    const level = outcome.status === 'success' ? 'info' : 'warn';
    this.opts.log[level](
      `task ${id} ${outcome.status} (exit ${outcome.exitCode}${outcome.signal ? `, ${outcome.signal}` : ''}) in ${duration} s`,
    );
    this.opts.onTaskFinished();
  }
}

/** The outcome of a task that never ran, or whose run the agent lost. */
function unrun(status: 'cancelled' | 'error', errorCode: ErrorCode, error: string, startedAt = new Date()): RunOutcome {
  return {
    status,
    exitCode: -1,
    signal: null,
    output: '',
    outputTruncated: false,
    error,
    errorTruncated: false,
    errorCode,
    startedAt,
    finishedAt: new Date(),
  };
}

function taskView(frame: TaskFrame, workDir: string, receivedAt: Date): TaskView {
  return {
    taskId: frame.task_id,
    command: frame.command,
    phase: 'queued',
    workDir,
    receivedAt: receivedAt.toISOString(),
    startedAt: null,
    finishedAt: null,
    duration: null,
    exitCode: null,
    signal: null,
    errorCode: null,
    error: null,
    pid: null,
    outputSeq: 0,
  };
}
