import { useState, type ReactNode } from 'react';
import type { QueueView, TaskView } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';
import { formatDateTime, formatDuration, formatTime } from '../format.js';
import { errorText } from '../state/agent-store.js';
import { useAgentStore } from '../state/useAgent.js';
import { useNow } from '../state/useNow.js';
import { Panel } from './Panel.js';
import { QueueNote } from './QueueNote.js';
import { TestCounts, UsageLine } from './TaskReport.js';
import { taskPhaseKey, taskTone } from './status.js';

const ORDER: Record<string, number> = { running: 0, queued: 1 };

/** running first, then queued (in the order they will start, else oldest first), then finished (newest first) */
export function sortTasks(tasks: TaskView[], queue?: QueueView): TaskView[] {
  const startsAt = new Map(queue?.tasks.map((q, i) => [q.taskId, i]));
  const place = (t: TaskView, i: number) => (t.phase === 'queued' ? (startsAt.get(t.taskId) ?? tasks.length + i) : i);
  return tasks
    .map((t, i) => ({ t, i, at: place(t, i) }))
    .sort((a, b) => {
      const oa = ORDER[a.t.phase] ?? 2;
      const ob = ORDER[b.t.phase] ?? 2;
      if (oa !== ob) return oa - ob;
      return oa === 2 ? b.i - a.i : a.at - b.at;
    })
    .map((x) => x.t);
}

export function TasksPanel({
  tasks,
  queue,
  held = false,
  selected,
  onSelect,
  filters,
  filtered = false,
}: {
  tasks: TaskView[];
  /** why each queued task waits (absent from an agent that predates it) */
  queue?: QueueView;
  /** paused or draining: queued tasks wait for that first */
  held?: boolean;
  selected: string | null;
  onSelect(taskId: string): void;
  /** the filter bar, above the list */
  filters?: ReactNode;
  /** a filter is on: an empty list means no match, not no task */
  filtered?: boolean;
}) {
  const { t, locale } = useI18n();
  const store = useAgentStore();
  const [cancelling, setCancelling] = useState<ReadonlySet<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const anyRunning = tasks.some((x) => x.phase === 'running');
  const now = useNow(anyRunning);
  const sorted = sortTasks(tasks, queue);
  const queueEntries = new Map(queue?.tasks.map((q) => [q.taskId, q]));
  const running = tasks.filter((x) => x.phase === 'running').length;
  const queued = tasks.filter((x) => x.phase === 'queued').length;

  const cancel = async (taskId: string) => {
    setCancelling((s) => new Set(s).add(taskId));
    setProblem(null);
    try {
      const r = await store.api.cancelTask(taskId);
      if (!r.ok) setProblem(t('tasks.cancelFailed', { id: taskId, message: r.message ?? '' }));
    } catch (err) {
      setProblem(t('tasks.cancelFailed', { id: taskId, message: errorText(err) }));
    } finally {
      setCancelling((s) => {
        const n = new Set(s);
        n.delete(taskId);
        return n;
      });
    }
  };

  return (
    <Panel
      id="tasks"
      title={t('section.tasks')}
      actions={
        <span className="muted small">
          {t('tasks.summary', { running, queued, finished: tasks.length - running - queued })}
        </span>
      }
    >
      {problem ? (
        <p className="notice notice-bad" role="alert">
          {problem}
        </p>
      ) : null}
      {filters}
      {tasks.length === 0 ? (
        <p className="empty" data-testid="tasks-empty">
          {t(filtered ? 'history.noMatch' : 'tasks.empty')}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="tasks">
            <thead>
              <tr>
                <th scope="col">{t('tasks.status')}</th>
                <th scope="col">{t('tasks.command')}</th>
                <th scope="col">{t('tasks.started')}</th>
                <th scope="col" className="num">
                  {t('tasks.duration')}
                </th>
                <th scope="col" className="num">
                  {t('tasks.exitCode')}
                </th>
                <th scope="col">
                  <span className="sr-only">{t('tasks.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((task) => {
                const active = task.phase === 'running' || task.phase === 'queued';
                const duration =
                  task.duration ??
                  (task.phase === 'running' && task.startedAt ? (now - Date.parse(task.startedAt)) / 1000 : null);
                const isSelected = task.taskId === selected;
                return (
                  <tr
                    key={task.taskId}
                    data-testid={`task-row-${task.taskId}`}
                    data-phase={task.phase}
                    className={isSelected ? 'selected' : undefined}
                    onClick={() => onSelect(task.taskId)}
                  >
                    <td>
                      <span className={`badge tone-${taskTone[task.phase]}`}>{t(taskPhaseKey(task.phase))}</span>
                    </td>
                    <td className="cmd-cell">
                      <button
                        type="button"
                        className="link-button mono"
                        title={task.command}
                        aria-pressed={isSelected}
                        onClick={(e) => {
                          e.stopPropagation();
                          onSelect(task.taskId);
                        }}
                      >
                        {task.command}
                      </button>
                      <div className="task-sub muted">
                        <span className="mono">{task.taskId}</span>
                        {task.error ? <span className="error-text"> · {task.error}</span> : null}
                        {task.testReport ? (
                          <>
                            {' · '}
                            <TestCounts report={task.testReport} />
                          </>
                        ) : null}
                        {task.usage && !active ? (
                          <>
                            {' · '}
                            <UsageLine usage={task.usage} />
                          </>
                        ) : null}
                        {task.limitsApplied ? <> · {t('tasks.limits', { how: task.limitsApplied })}</> : null}
                      </div>
                      <QueueNote task={task} entry={queueEntries.get(task.taskId)} held={held} />
                    </td>
                    <td className="nowrap">
                      {task.startedAt ? (
                        <time dateTime={task.startedAt} title={formatDateTime(task.startedAt, locale)}>
                          {formatTime(task.startedAt, locale)}
                        </time>
                      ) : (
                        <span className="muted">{t('tasks.notStarted')}</span>
                      )}
                    </td>
                    <td className="num nowrap">{formatDuration(duration)}</td>
                    <td className={`num ${task.exitCode !== null && task.exitCode !== 0 ? 'text-bad' : ''}`}>
                      {task.exitCode ?? (task.signal ? t('tasks.signal', { signal: task.signal }) : '')}
                    </td>
                    <td className="actions">
                      {active ? (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          data-testid={`cancel-${task.taskId}`}
                          aria-label={t('tasks.cancelLabel', { id: task.taskId })}
                          disabled={cancelling.has(task.taskId)}
                          onClick={(e) => {
                            e.stopPropagation();
                            void cancel(task.taskId);
                          }}
                        >
                          {cancelling.has(task.taskId) ? t('tasks.cancelling') : t('tasks.cancel')}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
