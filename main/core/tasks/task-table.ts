/**
 * The one owner of task records: task id → queued / running record, the per-task `seq` counter, the
 * latest results, and which task ids were ever seen. Admission, execution, reporting and recovery
 * all read and write tasks here and never each other (house.md "Second look").
 *
 * "Seen" is bounded: the newest SEEN_KEPT ids in memory, backed by the journal, which keeps the
 * entry of every unfinished task and of the newest confirmed results (agent.ts JOURNAL_RESULTS_KEPT).
 * An id older than both bounds is forgotten, as the cleanup policy forgets its folder.
 */
import type { TaskFrame, TaskResultFrame } from '../protocol/frames.js';
import type { JournalEntry } from './journal.js';

export const SEEN_KEPT = 10_000;
export const RESULTS_KEPT = 500;

export type TaskPhase = 'queued' | 'running';

export interface TaskRecord {
  frame: TaskFrame;
  workDir: string;
  phase: TaskPhase;
}

/** What the table needs of the journal: one entry by id. */
export interface JournalReader {
  read(taskId: string): JournalEntry | undefined;
}

export class TaskTable {
  private readonly live = new Map<string, TaskRecord>();
  private readonly seenIds = new Set<string>();
  private readonly results = new Map<string, TaskResultFrame>();
  private readonly seqs = new Map<string, number>();
  /** journal entries of tasks not finished yet: the next write of a task builds on its last one */
  private readonly entries = new Map<string, JournalEntry>();

  constructor(private readonly journal: JournalReader) {}

  /** Ever received (a redelivery): in memory, or in the journal. */
  seen(taskId: string): boolean {
    return this.seenIds.has(taskId) || this.live.has(taskId) || this.journal.read(taskId) !== undefined;
  }

  markSeen(taskId: string): void {
    this.seenIds.delete(taskId);
    this.seenIds.add(taskId);
    if (this.seenIds.size > SEEN_KEPT) this.seenIds.delete(this.seenIds.values().next().value!);
  }

  /** The task's result if this agent knows it: recent ones in memory, older ones from the journal. */
  resultOf(taskId: string): TaskResultFrame | undefined {
    return this.results.get(taskId) ?? this.journal.read(taskId)?.result;
  }

  rememberResult(result: TaskResultFrame): void {
    this.results.delete(result.task_id);
    this.results.set(result.task_id, result);
    if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value!);
  }

  add(record: TaskRecord): void {
    this.live.set(record.frame.task_id, record);
  }

  get(taskId: string): TaskRecord | undefined {
    return this.live.get(taskId);
  }

  setPhase(taskId: string, phase: TaskPhase): void {
    const record = this.live.get(taskId);
    if (record) record.phase = phase;
  }

  /** The task has its result: no longer queued or running. */
  finish(taskId: string): void {
    this.live.delete(taskId);
    this.seqs.delete(taskId);
    this.entries.delete(taskId);
  }

  nextSeq(taskId: string): number {
    const seq = (this.seqs.get(taskId) ?? 0) + 1;
    this.seqs.set(taskId, seq);
    return seq;
  }

  entry(taskId: string): JournalEntry | undefined {
    return this.entries.get(taskId);
  }

  setEntry(entry: JournalEntry): void {
    this.entries.set(entry.task_id, entry);
  }

  /** Tasks whose directories must survive a cleanup. */
  activeIds(): Set<string> {
    return new Set(this.live.keys());
  }
}
