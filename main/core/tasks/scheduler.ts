/**
 * The task pipeline, wired: admission (task-table.ts, admission.ts) → execution (execution.ts) →
 * reporting (reporting.ts), with recovery (recovery.ts) at start. At most `maxConcurrent` run; a
 * task_id never runs twice; every task ends in exactly one task_result. The parts share the task
 * table and nothing of each other; this file only passes a task from one to the next.
 */
import { ErrorCode } from '../protocol/codes.js';
import type { OnConfirmed, TaskFrame, TaskLogFrame, TaskResultFrame } from '../protocol/frames.js';
import type { AgentState } from '../state/agent-state.js';
import { TaskAdmission, type Blocked, type Ready } from './admission.js';
import { TaskExecution, type ExecutionOptions } from './execution.js';
import type { JournalEntry, TaskJournal } from './journal.js';
import { recoverTasks, type DeliveryLedger } from './recovery.js';
import { TaskReporting, unrun } from './reporting.js';
import { TaskTable } from './task-table.js';

export type { DeliveryLedger } from './recovery.js';

/** What execution needs (execution.ts), and what admission, reporting and recovery need besides. */
export interface SchedulerOptions extends ExecutionOptions {
  maxConcurrent: number;
  journal: TaskJournal;
  deliver: (frame: TaskLogFrame | TaskResultFrame, onConfirmed?: OnConfirmed) => void;
  /** what the outbox (connection/outbox.ts) holds, so that the journal and it agree after a restart */
  delivery: DeliveryLedger;
  state: AgentState;
  /** after each task: the cleanup policy runs */
  onTaskFinished: () => void;
  /** a queued task is taken to run (an ephemeral agent holds the others from here) */
  onTaskStarting?: (taskId: string) => void;
  /** task.max_queued: more waiting tasks are refused QUEUE_FULL */
  maxQueued?: number;
  /** task.dependency_timeout: how long a task waits for a depends_on task that has not arrived */
  dependencyTimeoutS?: number;
}

/** the queue view (AgentState.setQueue) follows changes at most this often */
const QUEUE_VIEW_MS = 100;

export class TaskScheduler {
  private readonly table: TaskTable;
  private readonly admission: TaskAdmission;
  private readonly execution: TaskExecution;
  private readonly reporting: TaskReporting;
  /** tasks taken from the queue and not finished, counted before their process exists */
  private readonly inFlight = new Set<string>();
  private concurrency: number;
  /** pause and drain: no task leaves the queue while set */
  private held = false;
  private readonly idleWaiters: Array<() => void> = [];
  private queueViewTimer: NodeJS.Timeout | null = null;
  private readonly blocked: Blocked[] = [];
  private refusingBlocked = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.concurrency = opts.maxConcurrent;
    this.table = new TaskTable(opts.journal);
    this.admission = new TaskAdmission({
      table: this.table,
      layout: opts.layout,
      policy: opts.policy,
      maxQueued: opts.maxQueued,
      dependencyTimeoutMs: opts.dependencyTimeoutS === undefined ? undefined : opts.dependencyTimeoutS * 1000,
      onBlocked: (blocked) => this.refuseBlocked(blocked),
    });
    this.execution = new TaskExecution(opts);
    this.reporting = new TaskReporting({
      ...opts,
      table: this.table,
      onResult: (result) => this.refuseBlocked(this.admission.settled(result)),
    });
  }

  get runningCount(): number {
    return this.execution.runningCount;
  }

  get queuedCount(): number {
    return this.admission.queuedCount;
  }

  /** Task ids whose directories must survive a cleanup. */
  activeIds(): Set<string> {
    return this.table.activeIds();
  }

  /** The work dirs of queued and running tasks: a cleanup removes none of them. */
  activeWorkDirs(): string[] {
    return [...this.table.activeIds()].flatMap((id) => this.table.get(id)?.workDir || []);
  }

  get maxConcurrent(): number {
    return this.concurrency;
  }

  setMaxConcurrent(n: number): void {
    this.concurrency = n;
    this.pump();
    this.queueChanged();
  }

  /** The default timeout of tasks started from now on; execution reads these same options. */
  setDefaultTimeout(seconds: number): void {
    this.opts.defaultTimeoutS = seconds;
  }

  /** Pause and drain: queued tasks stay queued, running ones go on. */
  setHeld(held: boolean): void {
    this.held = held;
    this.pump();
  }

  /** Settles once no task is running or being started: what a drain waits for. */
  whenIdle(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  submit(frame: TaskFrame): void {
    const id = frame.task_id;
    const receivedAt = new Date();
    const admitted = this.admission.admit(frame);
    switch (admitted.kind) {
      case 'duplicate':
        if (admitted.result) {
          this.opts.log.info(`task ${id} was delivered again; it already finished, sending its result again`);
          this.opts.deliver(admitted.result);
        } else {
          this.opts.log.info(`task ${id} was delivered again while queued or running; it is not run twice`);
        }
        return;
      case 'refused':
        this.reporting.received(frame, receivedAt);
        this.reporting.refused(frame, admitted.workDir, admitted.code, admitted.message);
        return;
      case 'queued': {
        this.reporting.received(frame, receivedAt);
        const never = this.admission.enqueue(frame, admitted.workDir, admitted.layout);
        if (never) {
          this.reporting.refused(frame, admitted.workDir, ErrorCode.DEPENDENCY_FAILED, never);
          return;
        }
        this.reporting.queued(frame, admitted.workDir, receivedAt, this.queuedCount, this.runningCount);
        this.pump();
        this.queueChanged();
        return;
      }
    }
  }

  /**
   * A task frame that names its task but cannot run (it failed validation): one `error` result,
   * through the same path as every other, and never a second one for a task_id already seen.
   */
  refuseInvalid(taskId: string, message: string, code: ErrorCode = ErrorCode.INVALID_TASK): void {
    if (!this.admission.admitInvalid(taskId)) {
      this.opts.log.warn(`an invalid task frame for ${taskId.slice(0, 128)}, a task_id already seen: ignored`);
      return;
    }
    this.reporting.receivedInvalid();
    this.reporting.refused({ type: 'task', task_id: taskId, command: '' }, '', code, message);
  }

  cancel(taskId: string): boolean {
    const queued = this.admission.remove(taskId);
    if (queued) {
      this.queueChanged();
      this.opts.log.info(`task ${taskId} cancelled while queued`);
      this.reporting.finish(queued.frame, unrun('cancelled', ErrorCode.TASK_CANCELLED, 'cancelled before it started'));
      return true;
    }
    if (!this.table.get(taskId) || !this.execution.stop(taskId, 'cancelled')) return false;
    this.opts.log.info(`cancelling task ${taskId}`);
    return true;
  }

  /** The connection's backpressure signal: stop reading task output until the platform catches up. */
  setPaused(paused: boolean): void {
    this.execution.setPaused(paused);
  }

  /** Accept nothing new; end queued and running tasks; resolves when every result is in the outbox. */
  async shutdown(): Promise<void> {
    for (const queued of this.admission.close()) {
      this.reporting.refused(
        queued.frame,
        queued.workDir,
        ErrorCode.AGENT_SHUTDOWN,
        'the agent shut down before the task started',
      );
    }
    this.publishQueue();
    await this.execution.stopAll();
    await new Promise((r) => setImmediate(r));
  }

  /** A new start after a crash (recovery.ts). */
  recover(entries: JournalEntry[]): Promise<void> {
    return recoverTasks(entries, { ...this.opts, table: this.table, reporting: this.reporting });
  }

  /**
   * Queued tasks that can never run (a dependency failed or never came): each gets its one result.
   * Each of those results may block more (a chain): a loop, not recursion, so a chain of thousands
   * of tasks cannot overflow the stack.
   */
  private refuseBlocked(blocked: Blocked[]): void {
    this.blocked.push(...blocked);
    if (this.refusingBlocked || this.blocked.length === 0) return;
    this.refusingBlocked = true;
    try {
      for (let next = this.blocked.shift(); next; next = this.blocked.shift())
        this.reporting.refused(next.ready.frame, next.ready.workDir, ErrorCode.DEPENDENCY_FAILED, next.message);
    } finally {
      this.refusingBlocked = false;
    }
    this.pump();
    this.queueChanged();
  }

  /** The queue view follows in one update per burst of changes. */
  private queueChanged(): void {
    this.queueViewTimer ??= setTimeout(() => this.publishQueue(), QUEUE_VIEW_MS);
    this.queueViewTimer.unref();
  }

  private publishQueue(): void {
    if (this.queueViewTimer) clearTimeout(this.queueViewTimer);
    this.queueViewTimer = null;
    this.opts.state.setQueue(this.admission.view(this.inFlight.size, this.concurrency));
  }

  private pump(): void {
    while (this.admission.open && !this.held && this.inFlight.size < this.concurrency) {
      const next = this.admission.next();
      if (!next) return;
      this.queueChanged();
      this.inFlight.add(next.frame.task_id);
      this.opts.onTaskStarting?.(next.frame.task_id);
      this.run(next)
        .catch((err: unknown) =>
          this.opts.log.error(`task ${next.frame.task_id}: ${(err as Error)?.stack ?? String(err)}`),
        )
        .finally(() => {
          this.inFlight.delete(next.frame.task_id);
          if (this.inFlight.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
          this.pump();
          this.queueChanged();
        });
    }
  }

  /** Whatever goes wrong inside the agent, the task still gets its one result. */
  private async run({ frame, workDir, layout }: Ready): Promise<void> {
    const id = frame.task_id;
    try {
      const executed = await this.execution.run(frame, workDir, layout, {
        onSpawn: (pid, start) => this.reporting.spawned(id, pid, start),
        onStarted: () => this.reporting.started(id),
        onOutput: (batch) => this.reporting.output(id, batch),
      });
      if (executed.ok) this.reporting.finish(frame, executed.outcome, executed.extras);
      else this.reporting.refused(frame, workDir, executed.code, executed.message);
    } catch (err) {
      this.opts.log.error(`task ${id}: internal error: ${(err as Error)?.stack ?? err}`);
      if (this.table.get(id)) {
        // still in the table: it has no result yet
        this.reporting.finish(
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
}
