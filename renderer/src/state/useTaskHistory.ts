import { useEffect, useMemo, useState } from 'react';
import type { TaskPhase, TaskView } from '../../../main/core/api.js';
import { errorText } from './agent-store.js';
import { useAgentStore } from './useAgent.js';

export interface TaskFilter {
  /** '' = every status */
  status: TaskPhase | '';
  search: string;
}

export const NO_FILTER: TaskFilter = { status: '', search: '' };
/** finished tasks asked of the journal at a time (the agent's own bound is 500) */
const HISTORY_LIMIT = 200;

export function matchesFilter(task: TaskView, filter: TaskFilter): boolean {
  const needle = filter.search.trim().toLowerCase();
  return (
    (filter.status === '' || task.phase === filter.status) &&
    (needle === '' || task.taskId.toLowerCase().includes(needle) || task.command.toLowerCase().includes(needle))
  );
}

/**
 * The live tasks plus the finished ones the agent's journal keeps (they survive a restart of the
 * agent or the app), oldest first like the snapshot's, so that one sort orders both. The live view
 * of a task wins: it is newer.
 */
export function mergeHistory(live: TaskView[], history: TaskView[]): TaskView[] {
  const liveIds = new Set(live.map((t) => t.taskId));
  return [...history.filter((t) => !liveIds.has(t.taskId)).reverse(), ...live];
}

/** The page was counted when it was asked for: the tasks shown since that it does not hold count too. */
export function historyTotal(page: { tasks: TaskView[]; total: number }, shown: TaskView[]): number {
  const counted = new Set(page.tasks.map((t) => t.taskId));
  return page.total + shown.filter((t) => !counted.has(t.taskId)).length;
}

/**
 * Asks the agent for its history when the page opens, after a reset (the agent restarted or was
 * replaced) and when the filter changes (the journal may hold more than one page of matches).
 */
export function useTaskHistory(live: TaskView[], filter: TaskFilter) {
  const store = useAgentStore();
  const [history, setHistory] = useState<{ tasks: TaskView[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [resets, setResets] = useState(0);
  const [search, setSearch] = useState(filter.search);

  useEffect(() => store.onReset(() => setResets((n) => n + 1)), [store]);
  useEffect(() => {
    const id = setTimeout(() => setSearch(filter.search.trim()), 200);
    return () => clearTimeout(id);
  }, [filter.search]);

  useEffect(() => {
    let current = true;
    store.api
      .getTaskHistory({
        limit: HISTORY_LIMIT,
        ...(filter.status ? { status: filter.status } : {}),
        ...(search ? { search } : {}),
      })
      .then(
        (page) => {
          if (!current) return;
          setHistory(page);
          setError(null);
        },
        (err: unknown) => current && setError(errorText(err)),
      );
    return () => {
      current = false;
    };
  }, [store, filter.status, search, resets]);

  const all = useMemo(() => mergeHistory(live, history?.tasks ?? []), [live, history]);
  const shown = useMemo(() => all.filter((t) => matchesFilter(t, filter)), [all, filter]);
  const total = useMemo(() => (history ? historyTotal(history, shown) : null), [history, shown]);
  return { all, shown, total, error };
}
