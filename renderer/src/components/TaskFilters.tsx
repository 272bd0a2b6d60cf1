import type { TaskPhase } from '../../../main/core/api.js';
import { useI18n } from '../i18n/index.js';
import type { TaskFilter } from '../state/useTaskHistory.js';
import { taskPhaseKey } from './status.js';

const PHASES: TaskPhase[] = ['running', 'queued', 'success', 'failed', 'error', 'timeout', 'cancelled'];

/** The task list's filter by status and its search by task id or command (the agent searches its journal too). */
export function TaskFilters({
  filter,
  onChange,
  total,
}: {
  filter: TaskFilter;
  onChange(next: TaskFilter): void;
  /** matches the agent's history holds in all, when known */
  total: number | null;
}) {
  const { t } = useI18n();
  return (
    <div className="task-filters" role="search" aria-label={t('history.label')}>
      <select
        className="input input-small"
        data-testid="task-status-filter"
        aria-label={t('history.status')}
        value={filter.status}
        onChange={(e) => onChange({ ...filter, status: e.target.value as TaskFilter['status'] })}
      >
        <option value="">{t('history.allStatuses')}</option>
        {PHASES.map((p) => (
          <option key={p} value={p}>
            {t(taskPhaseKey(p))}
          </option>
        ))}
      </select>
      <input
        type="search"
        className="input input-small"
        data-testid="task-search"
        placeholder={t('history.searchPlaceholder')}
        aria-label={t('history.search')}
        value={filter.search}
        onChange={(e) => onChange({ ...filter, search: e.target.value })}
        onKeyDown={(e) => e.key === 'Escape' && onChange({ ...filter, search: '' })}
      />
      {total !== null ? (
        <span className="muted small nowrap" data-testid="history-total">
          {t('history.total', { total })}
        </span>
      ) : null}
    </div>
  );
}
