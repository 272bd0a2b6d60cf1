import type { QueuedTaskView, TaskView } from '../../../main/core/api.js';
import { useI18n, type Translate } from '../i18n/index.js';

/** Why a queued task has not started, in words; the agent decides (QueueView), the UI only says it. */
export function waitText(entry: QueuedTaskView, t: Translate): string {
  const { wait } = entry;
  switch (wait.kind) {
    case 'capacity':
      return t('queue.capacity', { running: wait.running, max: wait.maxConcurrent });
    case 'behind': {
      const parts: string[] = [];
      if (wait.higher > 0) parts.push(t('queue.behindHigher', { higher: wait.higher }));
      if (wait.ahead > wait.higher) parts.push(t('queue.behindEarlier', { count: wait.ahead - wait.higher }));
      return parts.join(' · ');
    }
    case 'dependencies': {
      const text = t('queue.waitingFor', { ids: wait.waitingFor.join(', ') });
      return wait.notReceived.length ? `${text} ${t('queue.notReceived', { ids: wait.notReceived.join(', ') })}` : text;
    }
  }
}

/** A task's priority and dependencies, and for a queued one why it waits: a line under its command. */
export function QueueNote({
  task,
  entry,
  held = false,
}: {
  task: TaskView;
  entry: QueuedTaskView | undefined;
  /** paused or draining: no queued task starts, whatever else it waits for */
  held?: boolean;
}) {
  const { t } = useI18n();
  const priority = entry?.priority ?? task.priority ?? 0;
  const why =
    task.phase === 'queued' && entry
      ? held && entry.wait.kind === 'capacity'
        ? t('queue.held')
        : waitText(entry, t)
      : task.dependsOn?.length
        ? t('queue.dependsOn', { ids: task.dependsOn.join(', ') })
        : '';
  if (priority === 0 && !why) return null;
  return (
    <div className="task-queue muted" data-testid={`queue-${task.taskId}`}>
      {priority !== 0 ? <span className="queue-priority">{t('queue.priority', { priority })}</span> : null}
      {priority !== 0 && why ? ' · ' : null}
      {why ? <span className="queue-wait">{why}</span> : null}
    </div>
  );
}
