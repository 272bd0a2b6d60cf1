/**
 * The task history a UI lists: the tasks the state holds (queued, running, recent) and the finished
 * ones the journal remembers across restarts, newest first, filtered by status and by a part of the
 * task id or command. What exists is what the journal keeps: the cleanup policy (keep_tasks,
 * keep_days) forgets a task's entry with its log, and at most JOURNAL_RESULTS_KEPT confirmed results.
 */
import type { TaskHistoryPage, TaskHistoryQuery, TaskView } from '../api.js';
import type { JournalEntry } from './journal.js';

export const MAX_HISTORY_PAGE = 500;
export const MAX_HISTORY_SEARCH = 256;

/** A finished journal entry as the UI draws a task; null for one without a result yet. */
export function historyView(entry: JournalEntry): TaskView | null {
  const r = entry.result;
  if (entry.phase !== 'finished' || !r) return null;
  return {
    taskId: entry.task_id,
    command: entry.command,
    phase: r.status,
    // the journal does not keep it: the task's own folder may be gone by the cleanup policy anyway
    workDir: '',
    receivedAt: entry.received_at,
    startedAt: r.started_at ?? null,
    finishedAt: r.timestamp,
    duration: r.duration,
    exitCode: r.exit_code,
    signal: r.signal ?? null,
    errorCode: r.error_code ?? null,
    error: r.status === 'error' ? r.error : null,
    pid: null,
    outputSeq: 0,
  };
}

/** Live views win over journal ones (they are newer); the result is newest first. */
export function taskHistory(entries: JournalEntry[], live: TaskView[], query: TaskHistoryQuery): TaskHistoryPage {
  const byId = new Map<string, TaskView>();
  for (const entry of entries) {
    const view = historyView(entry);
    if (view) byId.set(view.taskId, view);
  }
  for (const view of live) byId.set(view.taskId, view);
  const needle = query.search?.trim().toLowerCase() ?? '';
  const matching = [...byId.values()].filter(
    (t) =>
      (query.status === undefined || t.phase === query.status) &&
      (needle === '' || t.taskId.toLowerCase().includes(needle) || t.command.toLowerCase().includes(needle)),
  );
  matching.sort((a, b) => newest(b).localeCompare(newest(a)) || b.taskId.localeCompare(a.taskId));
  const limit = Math.min(query.limit ?? MAX_HISTORY_PAGE, MAX_HISTORY_PAGE);
  return { tasks: matching.slice(0, limit), total: matching.length };
}

/** ISO times compare as strings */
function newest(t: TaskView): string {
  return t.finishedAt ?? t.startedAt ?? t.receivedAt;
}
