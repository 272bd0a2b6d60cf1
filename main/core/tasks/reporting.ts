/**
 * Reporting: everything a task tells the world. Output batches become task_log frames with the
 * task's next `seq`; every task ends in one task_result, written to the journal and the outbox at
 * once (recovery.ts reconciles a crash between the two, either way round); the journal follows each
 * step; the UI state and counters follow each change.
 */
import type { TaskView } from '../api.js';
import type { Logger } from '../logging/logger.js';
import type { ErrorCode } from '../protocol/codes.js';
import {
  levelOf,
  type OnConfirmed,
  type TaskFrame,
  type TaskLogFrame,
  type TaskResultFrame,
} from '../protocol/frames.js';
import { COUNTER_OF, type AgentState } from '../state/agent-state.js';
import { crashHereForTests } from '../test-crash.js';
import type { JournalEntry, TaskJournal } from './journal.js';
import type { OutputBatch } from './output-batcher.js';
import type { RunOutcome } from './runner.js';
import type { TaskTable } from './task-table.js';
import { emptyUsage } from './usage/proc-usage.js';

export interface ReportingOptions {
  table: TaskTable;
  journal: TaskJournal;
  deliver: (frame: TaskLogFrame | TaskResultFrame, onConfirmed?: OnConfirmed) => void;
  state: AgentState;
  log: Logger;
  /** after each task: the cleanup policy runs */
  onTaskFinished: () => void;
  /** every result, once it is out: tasks waiting for this one (depends_on) learn of it */
  onResult?: (result: TaskResultFrame) => void;
}

export class TaskReporting {
  constructor(private readonly opts: ReportingOptions) {}

  /** A new task id arrived: counted and journaled before anything else happens to it. */
  received(frame: TaskFrame, receivedAt: Date): void {
    this.opts.state.count('tasksReceived');
    this.journal({
      task_id: frame.task_id,
      phase: 'queued',
      command: frame.command,
      received_at: receivedAt.toISOString(),
    });
  }

  /** A frame that failed validation but names its task: counted, never journaled under a bad id. */
  receivedInvalid(): void {
    this.opts.state.count('tasksReceived');
  }

  queued(frame: TaskFrame, workDir: string, receivedAt: Date, waiting: number, running: number): void {
    this.opts.state.upsertTask(taskView(frame, workDir, receivedAt));
    // debug: a burst of short tasks would log three lines each; started and finished say enough
    this.opts.log.debug(`task ${frame.task_id} queued (${waiting} waiting, ${running} running)`);
  }

  spawned(taskId: string, pid: number, start: number | undefined): void {
    this.opts.state.updateTask(taskId, { pid });
    const entry = this.opts.table.entry(taskId);
    if (entry) this.journal({ ...entry, phase: 'running', pid, pid_start: start });
  }

  started(taskId: string): void {
    this.opts.table.setPhase(taskId, 'running');
    this.opts.state.updateTask(taskId, { phase: 'running', startedAt: new Date().toISOString() });
  }

  output(taskId: string, batch: OutputBatch): void {
    const seq = this.opts.table.nextSeq(taskId);
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

  /** The task cannot run: its reason as an agent line, then an `error` result. */
  refused(frame: TaskFrame, workDir: string, code: ErrorCode, message: string): void {
    this.opts.log.warn(`task ${frame.task_id} refused: ${message}`);
    if (!this.opts.state.task(frame.task_id)) this.opts.state.upsertTask(taskView(frame, workDir, new Date()));
    this.output(frame.task_id, { stream: 'agent', text: message });
    this.finish(frame, unrun('error', code, message));
  }

  /** A task found unfinished in the journal at start, about to be reported AGENT_RESTARTED. */
  recovered(entry: JournalEntry): void {
    this.opts.table.setEntry(entry);
    const frame = { type: 'task' as const, task_id: entry.task_id, command: entry.command };
    this.opts.state.upsertTask(taskView(frame, '', new Date(entry.received_at)));
  }

  /** `extras`: what the task's steps add to its result (execution.ts ResultExtras). */
  finish(frame: TaskFrame, outcome: RunOutcome, extras?: Partial<TaskResultFrame>): void {
    const { table } = this.opts;
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
      usage: emptyUsage(),
      ...outcome.report,
      ...extras,
    };
    table.rememberResult(result);
    const earlier = table.entry(id);
    // fields of the entry this module does not know (another part's) are kept as they are
    const finished: JournalEntry = {
      ...earlier,
      task_id: id,
      phase: 'finished',
      command: frame.command,
      received_at: earlier?.received_at ?? outcome.startedAt.toISOString(),
      result,
      delivered: false,
    };
    table.finish(id);
    // not waiting for the journal's fsync: the outbox file is the result's write-ahead copy too
    const journaled = this.opts.journal.write(finished);
    if (!crashHereForTests('after-journal-write', journaled))
      this.opts.deliver(result, () => this.opts.journal.write({ ...finished, delivered: true }));
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
      usage: result.usage ?? null,
      testReport: result.test_report ?? null,
      limitsApplied: result.limits_applied ?? null,
    });
    const level = outcome.status === 'success' ? 'info' : 'warn';
    this.opts.log[level](
      `task ${id} ${outcome.status} (exit ${outcome.exitCode}${outcome.signal ? `, ${outcome.signal}` : ''}) in ${duration} s`,
    );
    this.opts.onTaskFinished();
    this.opts.onResult?.(result);
  }

  private journal(entry: JournalEntry): void {
    this.opts.table.setEntry(entry);
    this.opts.journal.record(entry);
  }
}

/** The outcome of a task that never ran, or whose run the agent lost. */
export function unrun(
  status: 'cancelled' | 'error',
  errorCode: ErrorCode,
  error: string,
  startedAt = new Date(),
): RunOutcome {
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
    ...(frame.priority ? { priority: frame.priority } : {}),
    ...(frame.depends_on?.length ? { dependsOn: [...frame.depends_on] } : {}),
  };
}
